// The fp8 configurations of kernels/bench/quant_moe_sweep.cu (a translation unit of their own).
#include "kernels/bench/quant_moe_sweep_variants.cuh"

namespace mvl::cuda::sweep {

std::vector<Variant> variants_fp8() {
  return variants_bytes<qdev::kF8>();
}

}  // namespace mvl::cuda::sweep
