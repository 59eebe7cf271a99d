// `bench --path kernels`: the kernel-level replica of the decoder-layer stack (kernels/bench/
// layer_stack_bench, CUDA only) and the measured device copy rate, fronted here so the CLI
// reaches benchmark code through app/engine like everything else. The option and report types
// are the replica's own (plain C++). Without the CUDA backend every call throws
// Error{unsupported}.
#pragma once

#include "kernels/bench/layer_stack_bench.h"

namespace mvl::engine {

using KernelBenchOptions = cuda::StackBenchOptions;
using KernelBenchRow = cuda::StackBenchRow;
using KernelBenchReport = cuda::StackBenchReport;

// Runs the replica. Throws Error{invalid_argument|bad_format|out_of_memory|device|unsupported}.
KernelBenchReport run_kernel_bench(const KernelBenchOptions& o);
// The MoE layer with quantized experts (kernels/bench/quant_moe_rows.h) at the config's
// hidden / intermediate / expert sizes: decode n = 1 per format against its bytes floor and
// prefill of `tokens` per format against our bf16 path. copy_tbs / gemm_tflops: measured
// rates to reuse (0 = measure). Throws Error.
std::vector<KernelBenchRow> run_quant_moe_rows(const std::string& config_path, int64_t tokens,
                                               int reps, int device, double copy_tbs,
                                               double gemm_tflops);
// Device-to-device copy rate of GPU `device` in TB/s (bytes read + written). Throws Error.
double measure_copy_tbs(int device);

}  // namespace mvl::engine
