// The CUDA branch of every op, one free function each, so the op files in kernels/ops/ read
// "check the arguments, send device tensors here, else run the CPU path" with no #ifdef.
// Definitions: kernels/ops/backend/cuda_<family>.cpp in a CUDA build; no_cuda.cpp in a
// CPU-only build, where each throws Error{unsupported} (unreachable in practice: such a build
// cannot make a device tensor). The caller has already checked its arguments and decided the
// inputs are on a GPU; these find the cuda::Context, allocate the outputs and launch cuda::.
// Inside backend/ a call back into the op layer is spelled `ops::name`: the names below shadow it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/core/quant_format.h"
#include "kernels/core/tensor.h"
#include "kernels/ops/decode_batch.h"
#include "kernels/ops/device.h"
#include "kernels/ops/moe.h"
#include "kernels/ops/sampling.h"

namespace mvl::ops::cuda_backend {

// tensor_ops.h
Tensor empty(const Shape& shape, DType dtype, const DeviceContext& dev);
Tensor to_device(const Tensor& t, const DeviceContext& dev);  // host or same-device input
Tensor to_host(const Tensor& t);
Tensor cast(const Tensor& t, DType dtype);
Tensor clone(const Tensor& t);
void copy_into(const Tensor& dst, const Tensor& src);
Tensor add_bf16(const Tensor& a, const Tensor& b);
Tensor mul_bf16(const Tensor& a, const Tensor& b);
Tensor mul_f32(const Tensor& a, const Tensor& b);
Tensor scale_bf16(const Tensor& a, float s);
Tensor scale_f32(const Tensor& a, float s);
Tensor axpby_bf16(const Tensor& a, float alpha, const Tensor& b, float beta);
Tensor axpby_f32(const Tensor& a, float alpha, const Tensor& b, float beta);
Tensor concat_rows(const std::vector<Tensor>& parts, const Shape& shape);  // shape: the checked result

// activation.h (name: gelu, quick_gelu, silu or sigmoid)
Tensor activation_bf16(const Tensor& x, const char* name);
Tensor activation_f32(const Tensor& x, const char* name);

// attention.h
Tensor attention_f32(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal,
                     int64_t q_offset);  // one sequence: [n, H, d]
Tensor attention_bf16(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal,
                      int64_t q_offset);
Tensor attention_cached(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, float scale,
                        const Tensor& kv_len);

// decode_batch.h
Tensor lightning_decode_gather(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                               const Tensor& state_ptrs, int kernel);
void kv_append_gather(const Tensor& k, const Tensor& v, const Tensor& k_ptrs, const Tensor& v_ptrs,
                      const Tensor& rows);
std::vector<int32_t> decode_split_counts(const DeviceContext& dev, int64_t heads, int64_t kv_heads,
                                         int64_t head_dim, const std::vector<int64_t>& capacities);
Tensor attention_decode_gather(const Tensor& q, const KvBatch& kv, int64_t capacity, float scale,
                               bool per_sequence_splits);

// embedding.h
Tensor ids_to_device(const Tensor& table, const std::vector<int32_t>& ids);  // on table's device
Tensor embedding_f32(const Tensor& table, const Tensor& ids);
Tensor embedding_bf16(const Tensor& table, const Tensor& ids);

// layer_norm.h, rms_norm.h
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps);
Tensor rms_norm_bf16(const Tensor& x, const Tensor& w, float eps);
Tensor rms_norm_f32(const Tensor& x, const Tensor& w, float eps, bool round_bf16);
Tensor residual_rms_norm_bf16(const Tensor& resid, float alpha, const Tensor& branch, const Tensor& w, float eps);
Tensor gated_rms_norm_bf16(const Tensor& o, const Tensor& w, float eps, const Tensor& gate);

// lightning.h: every form runs the recurrence (op names the caller for errors)
Tensor lightning(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                 Tensor& state);

// linear.h, quant.h
Tensor linear(const Tensor& x, const Tensor& w, const Tensor* bias);
Tensor linear_residual(const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor& residual);  // bf16 x
Tensor linear_act(const Tensor& x, const Tensor& w, const Tensor* bias, const std::string& act);      // bf16 x
Tensor linear_quantized(const Tensor& x, const Tensor& w, const Tensor* bias);
Tensor quantize_weight(const Tensor& w, WeightFormat f, DType code_dtype);
Tensor dequantize(const Tensor& q, DType dtype);  // dtype: bf16 or f32

// moe.h
MoeRouting moe_route(const Tensor& logits, int64_t top_k);
Tensor moe_experts(const Tensor& x, const MoeRouting& routing, const std::vector<ExpertWeights>& experts);
Tensor moe_bf16(const Tensor& x, const Tensor& gate, int64_t top_k, const std::vector<ExpertWeights>& experts,
                const PackedExperts* packed);
// moe_range.h (top-2, quantized packed experts; undefined when the kernels do not take it)
Tensor moe_expert_range(const Tensor& x, const Tensor& gate, const PackedExperts& packed, int64_t expert0);

// patch_embed.h
Tensor patch_embed(const Tensor& pixels, const Tensor& weight);
Tensor vit_embeddings(const Tensor& patches, const Tensor& class_emb, const Tensor& pos_emb);

// positions.h, random.h
Tensor positions_from(const Tensor& pos, int64_t n);
void add_scalar(const Tensor& t, int32_t v);
void write_rows_at(const Tensor& dst, const Tensor& src, const Tensor& pos);
void fill_uniform(const Tensor& t, uint64_t seed, float lo, float hi);

// rope.h
Tensor rope_bf16(const Tensor& x, int64_t pos0, int64_t rotary_dim, double theta);
Tensor rope_f32(const Tensor& x, int64_t pos0, int64_t rotary_dim, double theta);
Tensor rope(const Tensor& x, const Tensor& positions, int64_t rotary_dim, double theta);

// sampling.h (hist: the distinct history ids below limit; see ops::sample_checked)
Tensor argmax_rows(const Tensor& logits);
Tensor sample(const Tensor& row, const SamplingParams& p, double u, const std::vector<int32_t>& hist, int64_t limit,
              bool plain_greedy);

}  // namespace mvl::ops::cuda_backend
