// The ops CUDA backend in a CPU-only build (-DMVL_CUDA=OFF): every entry point of
// cuda_backend.h throws Error{unsupported}. Nothing reaches them in practice: such a build
// cannot open a CUDA DeviceContext, so no tensor is ever on a GPU and the ops take their CPU path.
#include <fmt/format.h>

#include "kernels/core/error.h"
#include "kernels/ops/backend/cuda_backend.h"

namespace mvl::ops::cuda_backend {

namespace {
[[noreturn]] void no_cuda(const char* op) {
  throw Error(ErrorCategory::unsupported,
              fmt::format("{}: device tensors need the CUDA backend, and this build has none; rebuild with "
                          "-DMVL_CUDA=ON or keep the tensors on the CPU",
                          op));
}
}  // namespace

Tensor empty(const Shape&, DType, const DeviceContext&) { no_cuda("empty"); }
Tensor to_device(const Tensor&, const DeviceContext&) { no_cuda("to_device"); }
Tensor to_host(const Tensor&) { no_cuda("to_device"); }
Tensor cast(const Tensor&, DType) { no_cuda("cast"); }
Tensor clone(const Tensor&) { no_cuda("clone"); }
void copy_into(const Tensor&, const Tensor&) { no_cuda("copy_into"); }
Tensor add_bf16(const Tensor&, const Tensor&) { no_cuda("add"); }
Tensor mul_bf16(const Tensor&, const Tensor&) { no_cuda("mul"); }
Tensor mul_f32(const Tensor&, const Tensor&) { no_cuda("mul"); }
Tensor scale_bf16(const Tensor&, float) { no_cuda("scale"); }
Tensor scale_f32(const Tensor&, float) { no_cuda("scale"); }
Tensor axpby_bf16(const Tensor&, float, const Tensor&, float) { no_cuda("axpby"); }
Tensor axpby_f32(const Tensor&, float, const Tensor&, float) { no_cuda("axpby"); }
Tensor concat_rows(const std::vector<Tensor>&, const Shape&) { no_cuda("concat_rows"); }

Tensor activation_bf16(const Tensor&, const char* name) { no_cuda(name); }
Tensor activation_f32(const Tensor&, const char* name) { no_cuda(name); }

Tensor attention_f32(const Tensor&, const Tensor&, const Tensor&, float, bool, int64_t) { no_cuda("attention"); }
Tensor attention_bf16(const Tensor&, const Tensor&, const Tensor&, float, bool, int64_t) { no_cuda("attention"); }
Tensor attention_cached(const Tensor&, const Tensor&, const Tensor&, float, const Tensor&) {
  no_cuda("attention_cached");
}

Tensor lightning_decode_gather(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, int) {
  no_cuda("lightning_decode_batch");
}
void kv_append_gather(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) {
  no_cuda("append_kv_batch");
}
std::vector<int32_t> decode_split_counts(const DeviceContext&, int64_t, int64_t, int64_t,
                                         const std::vector<int64_t>&) {
  no_cuda("decode_split_counts");
}
Tensor attention_decode_gather(const Tensor&, const KvBatch&, int64_t, float, bool) {
  no_cuda("attention_decode_batch");
}

Tensor ids_to_device(const Tensor&, const std::vector<int32_t>&) { no_cuda("embedding"); }
Tensor embedding_f32(const Tensor&, const Tensor&) { no_cuda("embedding"); }
Tensor embedding_bf16(const Tensor&, const Tensor&) { no_cuda("embedding"); }

Tensor layer_norm(const Tensor&, const Tensor&, const Tensor&, float) { no_cuda("layer_norm"); }
Tensor rms_norm_bf16(const Tensor&, const Tensor&, float) { no_cuda("rms_norm"); }
Tensor rms_norm_f32(const Tensor&, const Tensor&, float, bool) { no_cuda("rms_norm"); }
Tensor residual_rms_norm_bf16(const Tensor&, float, const Tensor&, const Tensor&, float) {
  no_cuda("residual_rms_norm");
}
Tensor gated_rms_norm_bf16(const Tensor&, const Tensor&, float, const Tensor&) { no_cuda("gated_rms_norm"); }

Tensor lightning(const char* op, const Tensor&, const Tensor&, const Tensor&, const Tensor&, Tensor&) { no_cuda(op); }

Tensor linear(const Tensor&, const Tensor&, const Tensor*) { no_cuda("linear"); }
Tensor linear_residual(const Tensor&, const Tensor&, const Tensor*, const Tensor&) { no_cuda("linear_residual"); }
Tensor linear_act(const Tensor&, const Tensor&, const Tensor*, const std::string&) { no_cuda("linear_act"); }
Tensor linear_quantized(const Tensor&, const Tensor&, const Tensor*) { no_cuda("linear"); }
Tensor quantize_weight(const Tensor&, WeightFormat, DType) { no_cuda("quantize_weight"); }
Tensor dequantize(const Tensor&, DType) { no_cuda("dequantize_to_bf16"); }

MoeRouting moe_route(const Tensor&, int64_t) { no_cuda("moe_route"); }
Tensor moe_experts(const Tensor&, const MoeRouting&, const std::vector<ExpertWeights>&) { no_cuda("moe_experts"); }
Tensor moe_bf16(const Tensor&, const Tensor&, int64_t, const std::vector<ExpertWeights>&, const PackedExperts*) {
  no_cuda("moe");
}
Tensor moe_expert_range(const Tensor&, const Tensor&, const PackedExperts&, int64_t) {
  no_cuda("moe_expert_range");
}

Tensor patch_embed(const Tensor&, const Tensor&) { no_cuda("patch_embed"); }
Tensor vit_embeddings(const Tensor&, const Tensor&, const Tensor&) { no_cuda("vit_embeddings"); }

Tensor positions_from(const Tensor&, int64_t) { no_cuda("positions_from"); }
void add_scalar(const Tensor&, int32_t) { no_cuda("add_scalar_"); }
void write_rows_at(const Tensor&, const Tensor&, const Tensor&) { no_cuda("write_rows_at"); }
void fill_uniform(const Tensor&, uint64_t, float, float) { no_cuda("fill_uniform_"); }

Tensor rope_bf16(const Tensor&, int64_t, int64_t, double) { no_cuda("rope"); }
Tensor rope_f32(const Tensor&, int64_t, int64_t, double) { no_cuda("rope"); }
Tensor rope(const Tensor&, const Tensor&, int64_t, double) { no_cuda("rope"); }

Tensor argmax_rows(const Tensor&) { no_cuda("argmax_rows"); }
Tensor sample(const Tensor&, const SamplingParams&, double, const std::vector<int32_t>&, int64_t, bool) {
  no_cuda("sample");
}

}  // namespace mvl::ops::cuda_backend
