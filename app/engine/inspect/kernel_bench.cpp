// The kernel-level bench facade (kernel_bench.h) over kernels/bench. The one engine file that
// reaches kernels/bench code (the layer check lets app/engine/inspect/ include it).
#include "app/engine/inspect/kernel_bench.h"

#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "llm/config/text_config.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/bench/quant_moe_rows.h"
#include "kernels/bench/timing.h"
#endif

namespace mvl::engine {

#ifdef MVL_HAVE_CUDA
KernelBenchReport run_kernel_bench(const KernelBenchOptions& o) {
  return cuda::run_stack_bench(o);
}

std::vector<KernelBenchRow> run_quant_moe_rows(const std::string& config_path, int64_t tokens,
                                               int reps, int device, double copy_tbs,
                                               double gemm_tflops) {
  const json::Json root = json::parse_file(config_path);
  const bool nested = root.contains("text_config");
  const llm::TextConfig c = llm::TextConfig::from_json(
      nested ? json::get_object(root, "text_config", config_path) : root, config_path);
  cuda::QuantMoeBenchOptions qo;
  qo.hidden = c.hidden_size;
  qo.intermediate = c.intermediate_size;
  qo.experts = c.num_local_experts;
  qo.prefill_tokens = tokens;
  qo.reps = reps;
  qo.device = device;
  qo.copy_tbs = copy_tbs;
  qo.gemm_tflops = gemm_tflops;
  return cuda::run_quant_moe_bench(qo);
}

double measure_copy_tbs(int device) {
  const cuda::Context ctx(device);
  return cuda::measure_copy_bandwidth(ctx) / 1e12;
}
#else
namespace {
[[noreturn]] void no_cuda() {
  throw_error(ErrorCategory::unsupported,
              "bench needs a CUDA GPU, but this minimax-vl was built without the CUDA backend; "
              "rebuild with -DMVL_CUDA=ON on a machine with nvcc");
}
}  // namespace

KernelBenchReport run_kernel_bench(const KernelBenchOptions&) {
  no_cuda();
}
double measure_copy_tbs(int) {
  no_cuda();
}
std::vector<KernelBenchRow> run_quant_moe_rows(const std::string&, int64_t, int, int, double,
                                               double) {
  no_cuda();
}
#endif

}  // namespace mvl::engine
