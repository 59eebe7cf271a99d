// Device timing for benchmarks (CUDA events on the context's stream), kept behind a plain
// C++ header so the benchmark executables and `minimax-vl bench` need no CUDA headers. Part
// of mvl_kbench (kernels/bench), not of the kernels library. Never used by tests: timings are
// reported, not asserted.
#pragma once

#include <functional>
#include <vector>

#include "kernels/cuda/context.h"

namespace mvl::cuda {

// Runs fn `warmup` times, then `reps` times each bracketed by events (after optionally
// overwriting a 256 MiB buffer to flush L2); returns the per-rep milliseconds.
std::vector<double> time_reps(const Context& ctx, const std::function<void()>& fn, int warmup,
                              int reps, bool flush_l2 = false);
double median(std::vector<double> v);
// Captures one call of fn into a CUDA graph (thread-local capture mode: a cudaMalloc or a
// host sync inside fn makes the capture fail, which proves the path is graph-safe) and
// times `reps` replays. Call after fn has run once (scratch grown, GEMM plans cached).
// Throws Error{device} if fn cannot be captured.
std::vector<double> time_graph(const Context& ctx, const std::function<void()>& fn, int reps);
// Measured ceilings on this GPU: device-to-device copy (bytes read + written per second)
// and a bf16 8192^3 cuBLASLt GEMM (FLOP/s).
double measure_copy_bandwidth(const Context& ctx);
double measure_gemm_flops(const Context& ctx);
// Fills a device buffer with uniform bf16/f32 values in [lo, hi) (seeded, on the GPU).
void fill_uniform(const Context& ctx, void* data, int64_t n, bool bf16, float lo, float hi,
                  uint64_t seed);

}  // namespace mvl::cuda
