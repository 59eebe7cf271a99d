// The int4 configurations of kernels/bench/quant_moe_sweep.cu (a translation unit of their own).
#include "kernels/bench/quant_moe_sweep_variants.cuh"

namespace mvl::cuda::sweep {

std::vector<Variant> variants_int4() {
  return variants_nibbles<qdev::kI4>();
}

}  // namespace mvl::cuda::sweep
