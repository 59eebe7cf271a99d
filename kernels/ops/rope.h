// Rotary position embedding, partial and half-split (NeoX) as MiniMax-Text-01 uses it
// (spec §6.5): only dims [0, rotary_dim) of each head rotate, in pairs (i, i + rotary_dim/2);
// the rest pass through.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"

namespace mvl::ops {

// x: f32 [n, H, d] with a contiguous last dim; token i sits at absolute position pos0 + i.
// inv_freq_i = 1 / theta^(2i / rotary_dim) and the angle p * inv_freq_i are f32 (as the
// reference computes them); cos/sin in f32. rotary_dim even, 0 < rotary_dim <= d.
// Returns a new contiguous f32 [n, H, d]. bf16 x on a CUDA device -> bf16 (f32 angles and
// rotation, one rounding; positions built on the device).
Tensor rope(const Tensor& x, int64_t pos0, int64_t rotary_dim, double theta);
// Same, with token i at positions[i]: positions i32 [n] on x's device (e.g.
// ops::positions_from(state position, n)). Nothing is read back to the host, so a decode
// step captured as a CUDA graph rotates by the position current at each replay.
Tensor rope(const Tensor& x, const Tensor& positions, int64_t rotary_dim, double theta);

}  // namespace mvl::ops
