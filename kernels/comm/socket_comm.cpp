// SocketComm: Unix-domain stream sockets between the processes of one machine, rank 0 in the
// middle. A collective is a header (op, root, dtype, shape) plus the payload from every rank
// to rank 0, then one answer back; rank 0 checks the headers agree, like LocalComm does.
#include "kernels/comm/socket_comm.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "kernels/core/error.h"

namespace mvl::comm {

namespace {

constexpr uint32_t kMagic = 0x4d564c54;  // "MVLT"
enum Op : int32_t { kReduce = 1, kGather = 2, kBroadcast = 3, kBarrier = 4 };
constexpr int kMaxDims = 8;

struct Header {
  uint32_t magic = kMagic;
  int32_t op = 0, root = 0, dtype = 0, ndim = 0;
  int64_t dims[kMaxDims] = {};
  uint64_t bytes = 0;
};

void send_all(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t k = ::send(fd, c, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    MVL_CHECK(k > 0, device, "SocketComm: send failed ({}): a rank of the group has gone",
              std::strerror(errno));
    c += k;
    n -= static_cast<size_t>(k);
  }
}

void recv_all(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t k = ::recv(fd, c, n, 0);
    if (k < 0 && errno == EINTR) continue;
    MVL_CHECK(k > 0, device, "SocketComm: receive failed ({}): a rank of the group has gone",
              k == 0 ? "connection closed" : std::strerror(errno));
    c += k;
    n -= static_cast<size_t>(k);
  }
}

sockaddr_un address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  MVL_CHECK(path.size() < sizeof(a.sun_path), invalid_argument,
            "rendezvous socket path '{}' is longer than {} bytes; use a shorter path", path,
            sizeof(a.sun_path) - 1);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

Header header_of(int op, const Tensor& t, int root) {
  Header h;
  h.op = op;
  h.root = root;
  if (!t.defined()) return h;
  MVL_CHECK(t.device().is_cpu() && t.is_contiguous() && t.ndim() <= kMaxDims, invalid_argument,
            "SocketComm: needs a contiguous CPU tensor of at most {} dims, got {}", kMaxDims,
            t.str());
  h.dtype = static_cast<int32_t>(t.dtype());
  h.ndim = static_cast<int32_t>(t.ndim());
  for (int i = 0; i < h.ndim; ++i) h.dims[i] = t.dim(i);
  h.bytes = t.nbytes();
  return h;
}

bool same(const Header& a, const Header& b) {
  if (a.magic != b.magic || a.op != b.op || a.root != b.root || a.dtype != b.dtype ||
      a.ndim != b.ndim || a.bytes != b.bytes)
    return false;
  for (int i = 0; i < a.ndim; ++i)
    if (a.dims[i] != b.dims[i]) return false;
  return true;
}

}  // namespace

std::unique_ptr<SocketComm> SocketComm::join(const std::string& path, int rank, int size,
                                             double timeout_s) {
  MVL_CHECK(size >= 1 && rank >= 0 && rank < size, invalid_argument,
            "rank {} outside a group of {} processes", rank, size);
  const sockaddr_un addr = address(path);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  std::vector<int> fds;
  if (rank == 0) {
    fds.assign(static_cast<size_t>(size), -1);
    if (size == 1) return std::unique_ptr<SocketComm>(new SocketComm(rank, size, fds));
    const int ls = ::socket(AF_UNIX, SOCK_STREAM, 0);
    MVL_CHECK(ls >= 0, device, "SocketComm: socket(): {}", std::strerror(errno));
    ::unlink(path.c_str());  // a stale socket of an earlier run
    if (::bind(ls, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(ls, size) != 0) {
      const std::string why = std::strerror(errno);
      ::close(ls);
      throw Error(ErrorCategory::device,
                  fmt::format("SocketComm: cannot listen on '{}': {}", path, why));
    }
    for (int joined = 1; joined < size;) {
      timeval tv{1, 0};
      ::setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      const int fd = ::accept(ls, nullptr, nullptr);
      if (fd < 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::close(ls);
          ::unlink(path.c_str());
          for (int f : fds)
            if (f >= 0) ::close(f);
          throw Error(ErrorCategory::device,
                      fmt::format("SocketComm: only {} of {} ranks joined at '{}' within {} s",
                                  joined, size, path, timeout_s));
        }
        continue;
      }
      int32_t hello[3] = {};
      recv_all(fd, hello, sizeof(hello));
      if (hello[0] != static_cast<int32_t>(kMagic) || hello[2] != size || hello[1] <= 0 ||
          hello[1] >= size || fds[static_cast<size_t>(hello[1])] >= 0) {
        ::close(fd);
        ::close(ls);
        throw Error(ErrorCategory::invalid_argument,
                    fmt::format("SocketComm: a process joined '{}' as rank {} of {}, but this "
                                "group has {} ranks (or that rank joined twice)",
                                path, hello[1], hello[2], size));
      }
      fds[static_cast<size_t>(hello[1])] = fd;
      ++joined;
    }
    ::close(ls);
    ::unlink(path.c_str());  // everyone is connected; the name is no longer needed
    return std::unique_ptr<SocketComm>(new SocketComm(rank, size, fds));
  }
  for (;;) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    MVL_CHECK(fd >= 0, device, "SocketComm: socket(): {}", std::strerror(errno));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      const int32_t hello[3] = {static_cast<int32_t>(kMagic), rank, size};
      send_all(fd, hello, sizeof(hello));
      return std::unique_ptr<SocketComm>(new SocketComm(rank, size, {fd}));
    }
    ::close(fd);
    MVL_CHECK(std::chrono::steady_clock::now() < deadline, device,
              "SocketComm: rank {} found no rank 0 listening at '{}' within {} s", rank, path,
              timeout_s);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

SocketComm::SocketComm(int rank, int size, std::vector<int> fds)
    : rank_(rank), size_(size), fds_(std::move(fds)) {}

SocketComm::~SocketComm() {
  for (int f : fds_)
    if (f >= 0) ::close(f);
}

void SocketComm::abort() {
  for (int f : fds_)
    if (f >= 0) ::shutdown(f, SHUT_RDWR);
}

std::vector<char> SocketComm::exchange(int op, const Tensor& t, int root) {
  const Header mine = header_of(op, t, root);
  const size_t n = mine.bytes;
  if (rank_ != 0) {
    // Broadcast: only the root's payload travels up.
    const bool payload = op != kBroadcast || rank_ == root;
    send_all(fds_[0], &mine, sizeof(mine));
    if (payload && n) send_all(fds_[0], t.data(), n);
    uint64_t reply = 0;
    recv_all(fds_[0], &reply, sizeof(reply));
    MVL_CHECK(reply != UINT64_MAX, internal,
              "SocketComm: the ranks called different collectives or passed different shapes "
              "(rank 0 saw the mismatch)");
    std::vector<char> out(reply);
    if (reply) recv_all(fds_[0], out.data(), reply);
    return out;
  }
  // Rank 0: every rank's header and payload, in rank order.
  std::vector<std::vector<char>> in(static_cast<size_t>(size_));
  if (n && (op != kBroadcast || root == 0))
    in[0].assign(static_cast<const char*>(t.data()), static_cast<const char*>(t.data()) + n);
  std::string mismatch;
  for (int r = 1; r < size_; ++r) {
    Header h;
    recv_all(fds_[static_cast<size_t>(r)], &h, sizeof(h));
    if (!same(h, mine) && mismatch.empty())
      mismatch = fmt::format(
          "SocketComm: rank {} called op {} with {} bytes but rank 0 op {} "
          "with {} bytes",
          r, h.op, h.bytes, mine.op, mine.bytes);
    const bool payload = h.op != kBroadcast || r == h.root;
    if (payload && h.bytes) {
      in[static_cast<size_t>(r)].resize(h.bytes);
      recv_all(fds_[static_cast<size_t>(r)], in[static_cast<size_t>(r)].data(), h.bytes);
    }
  }
  if (!mismatch.empty()) {
    const uint64_t bad = UINT64_MAX;
    for (int r = 1; r < size_; ++r) send_all(fds_[static_cast<size_t>(r)], &bad, sizeof(bad));
    throw Error(ErrorCategory::internal, mismatch);
  }
  std::vector<char> out;
  if (op == kReduce) {
    // Rank-order f32 sums, as LocalComm.
    const size_t count = static_cast<size_t>(t.numel());
    std::vector<float> sum(count, 0.0f);
    for (const auto& b : in) {
      if (t.dtype() == DType::f32) {
        const float* p = reinterpret_cast<const float*>(b.data());
        for (size_t i = 0; i < count; ++i) sum[i] += p[i];
      } else {
        const uint16_t* p = reinterpret_cast<const uint16_t*>(b.data());
        for (size_t i = 0; i < count; ++i) sum[i] += bf16_to_f32(p[i]);
      }
    }
    out.resize(n);
    if (t.dtype() == DType::f32) {
      std::memcpy(out.data(), sum.data(), n);
    } else {
      uint16_t* p = reinterpret_cast<uint16_t*>(out.data());
      for (size_t i = 0; i < count; ++i) p[i] = f32_to_bf16(sum[i]);
    }
  } else if (op == kGather) {
    for (const auto& b : in) out.insert(out.end(), b.begin(), b.end());
  } else if (op == kBroadcast) {
    out = in[static_cast<size_t>(root)];
  }
  const uint64_t reply = out.size();
  for (int r = 1; r < size_; ++r) {
    send_all(fds_[static_cast<size_t>(r)], &reply, sizeof(reply));
    if (reply) send_all(fds_[static_cast<size_t>(r)], out.data(), reply);
  }
  return out;
}

void SocketComm::all_reduce_sum(const Tensor& t) {
  MVL_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::bf16, unsupported,
            "SocketComm::all_reduce_sum: f32 or bf16 only, got {}", t.str());
  const std::vector<char> r = exchange(kReduce, t, 0);
  if (!r.empty()) std::memcpy(t.data(), r.data(), r.size());
}

Tensor SocketComm::all_gather(const Tensor& t) {
  MVL_CHECK(t.defined() && t.ndim() >= 1, invalid_argument,
            "SocketComm::all_gather: needs at least one dimension");
  const std::vector<char> r = exchange(kGather, t, 0);
  Shape shape = t.shape();
  shape[0] *= size_;
  Tensor out = Tensor::empty(shape, t.dtype());
  if (!r.empty()) std::memcpy(out.data(), r.data(), r.size());
  return out;
}

void SocketComm::broadcast(const Tensor& t, int root) {
  MVL_CHECK(root >= 0 && root < size_, invalid_argument,
            "SocketComm::broadcast: root {} outside {} ranks", root, size_);
  const std::vector<char> r = exchange(kBroadcast, t, root);
  if (rank_ != root && !r.empty()) std::memcpy(t.data(), r.data(), r.size());
}

void SocketComm::barrier() {
  exchange(kBarrier, Tensor(), 0);
}

}  // namespace mvl::comm
