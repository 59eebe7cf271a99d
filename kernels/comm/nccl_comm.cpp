// NcclComm: NCCL collectives on each rank's stream. Tensors must be contiguous and on the
// rank's device; all-gather outputs come from the rank's stream-ordered pool (graph-safe).
#include "kernels/comm/nccl_comm.h"

#include "kernels/core/error.h"

#ifdef MVL_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "kernels/cuda/context.h"
#include "kernels/ops/backend/cuda_context.h"
#include "kernels/ops/tensor_ops.h"
#endif

namespace mvl::comm {

#ifndef MVL_HAVE_NCCL

bool nccl_built() {
  return false;
}
CommGroup NcclComm::create_all(const std::vector<ops::DeviceContext>&) {
  throw Error(ErrorCategory::unsupported,
              "this build has no NCCL (configure with the CUDA toolkit's NCCL)");
}
std::unique_ptr<Communicator> NcclComm::create_rank(const std::string&, int, int,
                                                    const ops::DeviceContext&, double) {
  throw Error(ErrorCategory::unsupported,
              "this build has no NCCL (configure with the CUDA toolkit's NCCL)");
}
NcclComm::~NcclComm() = default;
void NcclComm::abort() {}
NcclComm::NcclComm(ncclComm* c, ops::DeviceContext d, int r, int s)
    : comm_(c), dev_(std::move(d)), rank_(r), size_(s) {}
void NcclComm::check_tensor(const Tensor&, const char*) const {}
void NcclComm::all_reduce_sum(const Tensor&) {
  throw Error(ErrorCategory::unsupported, "no NCCL");
}
Tensor NcclComm::all_gather(const Tensor&) {
  throw Error(ErrorCategory::unsupported, "no NCCL");
}
void NcclComm::broadcast(const Tensor&, int) {
  throw Error(ErrorCategory::unsupported, "no NCCL");
}
void NcclComm::barrier() {
  throw Error(ErrorCategory::unsupported, "no NCCL");
}

#else

namespace {
void nccl_check(ncclResult_t r, ncclComm* comm, const char* what) {
  if (r == ncclSuccess || r == ncclInProgress) return;
  const char* last = comm ? ncclGetLastError(comm) : ncclGetLastError(nullptr);
  throw Error(ErrorCategory::device,
              fmt::format("NCCL {} failed: {}{}{}", what, ncclGetErrorString(r),
                          last && *last ? ": " : "", last ? last : ""));
}
cudaStream_t stream_of(const ops::DeviceContext& d) {
  return ops::detail::ctx_of(d)->stream();
}
}  // namespace

bool nccl_built() {
  return true;
}

NcclComm::NcclComm(ncclComm* c, ops::DeviceContext d, int r, int s)
    : comm_(c), dev_(std::move(d)), rank_(r), size_(s) {}

NcclComm::~NcclComm() {
  if (ncclComm* c = comm_.exchange(nullptr)) ncclCommDestroy(c);  // errors at teardown are ignored
}

void NcclComm::abort() {
  if (ncclComm* c = comm_.exchange(nullptr)) ncclCommAbort(c);
}

CommGroup NcclComm::create_all(const std::vector<ops::DeviceContext>& devices) {
  const int n = static_cast<int>(devices.size());
  MVL_CHECK(n >= 1, invalid_argument, "NcclComm: no devices");
  std::vector<int> ids;
  for (const auto& d : devices) {
    MVL_CHECK(d.is_cuda(), invalid_argument, "NcclComm: rank {} is on {}, not a CUDA device",
              ids.size(), d.device().str());
    for (int prev : ids)
      MVL_CHECK(prev != d.device().index, invalid_argument, "NcclComm: cuda:{} is given twice",
                prev);
    ids.push_back(d.device().index);
  }
  std::vector<ncclComm_t> comms(static_cast<size_t>(n), nullptr);
  nccl_check(ncclCommInitAll(comms.data(), n, ids.data()), nullptr, "ncclCommInitAll");
  CommGroup out;
  for (int r = 0; r < n; ++r)
    out.push_back(std::unique_ptr<Communicator>(
        new NcclComm(comms[static_cast<size_t>(r)], devices[r], r, n)));
  return out;
}

std::unique_ptr<Communicator> NcclComm::create_rank(const std::string& id_file, int rank, int size,
                                                    const ops::DeviceContext& device,
                                                    double timeout_s) {
  MVL_CHECK(size >= 1 && rank >= 0 && rank < size, invalid_argument,
            "NcclComm: rank {} outside a group of {}", rank, size);
  MVL_CHECK(device.is_cuda(), invalid_argument, "NcclComm: rank {} is on {}, not a CUDA device",
            rank, device.device().str());
  ncclUniqueId id;
  if (rank == 0) {
    nccl_check(ncclGetUniqueId(&id), nullptr, "ncclGetUniqueId");
    const std::string tmp = id_file + ".tmp." + std::to_string(::getpid());
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f.write(id.internal, sizeof(id.internal));
      MVL_CHECK(f.good(), device, "NcclComm: cannot write the NCCL id to '{}'", tmp);
    }
    MVL_CHECK(std::rename(tmp.c_str(), id_file.c_str()) == 0, device,
              "NcclComm: cannot rename '{}' to '{}'", tmp, id_file);
  } else {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    for (;;) {
      std::ifstream f(id_file, std::ios::binary);
      if (f && f.read(id.internal, sizeof(id.internal)) && f.gcount() == sizeof(id.internal)) break;
      MVL_CHECK(std::chrono::steady_clock::now() < deadline, device,
                "NcclComm: rank {} found no NCCL id at '{}' within {} s (is rank 0 running, and "
                "is the path on a filesystem both see?)",
                rank, id_file, timeout_s);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  MVL_CHECK(cudaSetDevice(device.device().index) == cudaSuccess, device,
            "NcclComm: cudaSetDevice({}) failed", device.device().index);
  ncclComm_t c = nullptr;
  nccl_check(ncclCommInitRank(&c, size, id, rank), nullptr, "ncclCommInitRank");
  if (rank == 0) std::remove(id_file.c_str());  // every rank has joined
  return std::unique_ptr<Communicator>(new NcclComm(c, device, rank, size));
}

void NcclComm::check_tensor(const Tensor& t, const char* op) const {
  MVL_CHECK(comm_.load() != nullptr, device,
            "NcclComm::{} (rank {}): the communicator was aborted after a rank failed", op, rank_);
  MVL_CHECK(t.defined() && t.is_contiguous() && t.device() == dev_.device(), invalid_argument,
            "NcclComm::{} (rank {}): needs a contiguous tensor on {}, got {}", op, rank_,
            dev_.device().str(), t.defined() ? t.str() : "undefined");
}

void NcclComm::all_reduce_sum(const Tensor& t) {
  check_tensor(t, "all_reduce_sum");
  MVL_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::bf16, unsupported,
            "NcclComm::all_reduce_sum: f32 or bf16 only, got {}", t.str());
  const ncclDataType_t type = t.dtype() == DType::f32 ? ncclFloat32 : ncclBfloat16;
  nccl_check(ncclAllReduce(t.data(), t.data(), static_cast<size_t>(t.numel()), type, ncclSum,
                           comm_.load(), stream_of(dev_)),
             comm_.load(), "all-reduce");
}

Tensor NcclComm::all_gather(const Tensor& t) {
  check_tensor(t, "all_gather");
  Shape shape = t.shape();
  shape[0] *= size_;
  Tensor out = ops::empty(shape, t.dtype(), dev_);
  nccl_check(
      ncclAllGather(t.data(), out.data(), t.nbytes(), ncclUint8, comm_.load(), stream_of(dev_)),
      comm_.load(), "all-gather");
  return out;
}

void NcclComm::broadcast(const Tensor& t, int root) {
  check_tensor(t, "broadcast");
  MVL_CHECK(root >= 0 && root < size_, invalid_argument,
            "NcclComm::broadcast: root {} outside {} ranks", root, size_);
  nccl_check(
      ncclBroadcast(t.data(), t.data(), t.nbytes(), ncclUint8, root, comm_.load(), stream_of(dev_)),
      comm_.load(), "broadcast");
}

void NcclComm::barrier() {
  Tensor one = ops::empty({1}, DType::f32, dev_);
  all_reduce_sum(one);
  dev_.synchronize();
}

#endif

}  // namespace mvl::comm
