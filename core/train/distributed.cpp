#include "train/distributed.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdlib>

#include "util/error.h"

#ifdef LATENT_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef LATENT_HAVE_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

extern char** environ;

namespace latent {
namespace {

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

int int_var(const std::map<std::string, std::string>& env, const std::string& key, int lo, int hi) {
  const std::string& v = env.at(key);
  try {
    size_t used = 0;
    const long n = std::stol(v, &used);
    if (used != v.size() || n < lo || n > hi) throw std::out_of_range(v);
    return static_cast<int>(n);
  } catch (const std::exception&) {
    throw Error("environment variable " + key,
                "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got \"" + v + "\"");
  }
}

}  // namespace

DistEnv dist_env_from(const std::map<std::string, std::string>& given) {
  const auto env = given.empty() ? process_environment() : given;
  DistEnv d;
  auto has = [&](const char* k) { return env.count(k) > 0 && !env.at(k).empty(); };
  const char *rank = "RANK", *world = "WORLD_SIZE", *local = "LOCAL_RANK";
  if (!has("WORLD_SIZE") && has("SLURM_NTASKS")) rank = "SLURM_PROCID", world = "SLURM_NTASKS", local = "SLURM_LOCALID";
  if (!has(world)) return d;  // one process
  d.world = int_var(env, world, 1, 1 << 16);
  if (!has(rank)) throw Error(std::string("environment variable ") + rank, std::string("missing (") + world + " is set)");
  d.rank = int_var(env, rank, 0, d.world - 1);
  d.local_rank = has(local) ? int_var(env, local, 0, 1 << 16) : 0;
  if (has("MASTER_ADDR")) d.master_addr = env.at("MASTER_ADDR");
  else if (d.world > 1) throw Error("environment variable MASTER_ADDR", "missing (the address of rank 0)");
  if (has("MASTER_PORT")) d.master_port = int_var(env, "MASTER_PORT", 1, 65535);
  else if (d.world > 1) throw Error("environment variable MASTER_PORT", "missing (a free port on rank 0's machine)");
  d.launched = d.world == 1 && has("MASTER_ADDR") && has("MASTER_PORT");
  if (has("LATENT_DIST_TIMEOUT")) d.timeout_seconds = int_var(env, "LATENT_DIST_TIMEOUT", 1, 86400);
  if (has("LATENT_DIST_BUCKET_KB")) d.bucket_bytes = int64_t{1024} * int_var(env, "LATENT_DIST_BUCKET_KB", 1, 1 << 20);
  return d;
}

RowShare row_share(int64_t rows, int rank, int world) {
  const int64_t base = rows / world, extra = rows % world;
  RowShare s;
  s.count = base + (rank < extra ? 1 : 0);
  s.offset = rank * base + std::min<int64_t>(rank, extra);
  return s;
}

#ifdef LATENT_HAVE_GLOO

bool distributed_available() { return true; }

#ifdef LATENT_HAVE_NCCL
bool nccl_available() { return true; }
#else
bool nccl_available() { return false; }
#endif

namespace {

// c10d's Gloo (CPU) or NCCL (CUDA) backend behind one TCPStore rendezvous. The calls take
// tensors on any device: those not on the group's device (the trainer's CPU control
// tensors on NCCL) are staged there and copied back.
class C10dGroup : public ProcessGroup {
 public:
  C10dGroup(const DistEnv& env, const at::Device& device) : env_(env), device_(device) {
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(env.timeout_seconds * 1000));
    try {
      // Under torchrun the launcher's agent already serves the store at MASTER_ADDR:MASTER_PORT
      // (TORCHELASTIC_USE_AGENT_STORE=True): every rank is a client, as torch's own env://
      // rendezvous does, instead of rank 0 failing to bind and printing c10d's error.
      const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
      c10d::TCPStoreOptions so;
      so.port = static_cast<uint16_t>(env.master_port);
      so.isServer = env.rank == 0 && !(agent && std::string(agent) == "True");
      so.numWorkers = env.world;
      so.waitWorkers = true;
      so.timeout = timeout;
      store_ = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
      if (device.is_cuda()) {
        group_ = make_nccl(timeout);
      } else {
        auto opts = c10d::ProcessGroupGloo::Options::create();
        opts->timeout = timeout;
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, env.rank, env.world, opts);
      }
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("joining the process group (" + backend() + ") at " + env.master_addr + ":" +
                      std::to_string(env.master_port) + " as rank " + std::to_string(env.rank) + " of " +
                      std::to_string(env.world),
                  first_line(e.what()));
    }
  }
  int rank() const override { return env_.rank; }
  int world() const override { return env_.world; }
  std::string backend() const override { return device_.is_cuda() ? "NCCL" : "Gloo"; }

  void all_reduce_sum(const std::vector<at::Tensor>& tensors) override {
    constexpr int64_t kBucketBytes = 25 << 20;
    std::vector<at::Tensor> bucket;
    int64_t bytes = 0;
    auto flush = [&] {
      if (bucket.empty()) return;
      std::vector<at::Tensor> flat{at::cat(flatten(bucket)).to(device_)};
      run("all-reduce", [&] { return group_->allreduce(flat); });
      int64_t at = 0;
      for (auto& t : bucket) {
        t.copy_(flat[0].narrow(0, at, t.numel()).view_as(t));
        at += t.numel();
      }
      bucket.clear();
      bytes = 0;
    };
    for (const auto& t : tensors) {
      if (!bucket.empty() && (t.scalar_type() != bucket[0].scalar_type() || bytes + t.nbytes() > kBucketBytes)) flush();
      bucket.push_back(t);
      bytes += static_cast<int64_t>(t.nbytes());
    }
    flush();
  }

  std::function<void()> all_reduce_sum_start(const at::Tensor& flat) override {
    const at::Tensor staged = staged_copy(flat);
    c10::intrusive_ptr<c10d::Work> work;
    run("all-reduce", [&] {
      std::vector<at::Tensor> one{staged};
      work = group_->allreduce(one);
      return c10::intrusive_ptr<c10d::Work>();  // nothing to wait for yet
    });
    return [this, work, staged, flat] {
      run("all-reduce", [&] { return work; });
      if (!staged.is_same(flat)) flat.copy_(staged);
    };
  }

  void broadcast(const std::vector<at::Tensor>& tensors, int root) override {
    for (const auto& t : tensors) {
      std::vector<at::Tensor> one{staged_copy(t)};
      c10d::BroadcastOptions o;
      o.rootRank = root;
      run("broadcast", [&] { return group_->broadcast(one, o); });
      if (!one[0].is_same(t)) t.copy_(one[0]);
    }
  }

  void barrier() override {
    run("barrier", [&] { return group_->barrier(); });
  }

 private:
  // t itself when the backend can take it in place, else a contiguous copy on the group's device.
  at::Tensor staged_copy(const at::Tensor& t) const { return t.device() == device_ && t.is_contiguous() ? t : t.to(device_).contiguous(); }
  static std::vector<at::Tensor> flatten(const std::vector<at::Tensor>& ts) {
    std::vector<at::Tensor> out;
    for (const auto& t : ts) out.push_back(t.reshape({-1}));
    return out;
  }
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  c10::intrusive_ptr<c10d::Backend> make_nccl(std::chrono::milliseconds timeout) {
#ifdef LATENT_HAVE_NCCL
    // A collective that times out throws (and so becomes our message) instead of the
    // watchdog ending the process; the user's own setting wins.
    setenv("TORCH_NCCL_BLOCKING_WAIT", "1", /*overwrite=*/0);
    c10::cuda::set_device(device_.index());
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, env_.rank, env_.world, opts);
#else
    (void)timeout;
    throw Error("--device " + device_.str() + " with WORLD_SIZE=" + std::to_string(env_.world),
                "this build has no NCCL headers (pip nvidia-nccl, which torch installs): it trains across processes on "
                "the CPU only");
#endif
  }
  template <class F>
  void run(const char* what, F&& start) {
    try {
      auto work = start();
      if (work) work->wait();
    } catch (const std::exception& e) {
      throw Error(std::string(what) + " across " + std::to_string(env_.world) + " processes (rank " +
                      std::to_string(env_.rank) + ", " + backend() + ")",
                  "another process stopped or did not answer within " + std::to_string(int(env_.timeout_seconds)) +
                      " s: " + first_line(e.what()));
    }
  }

  DistEnv env_;
  at::Device device_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
  c10::intrusive_ptr<c10d::Backend> group_;
};

}  // namespace

std::unique_ptr<ProcessGroup> ProcessGroup::join(const DistEnv& env, const at::Device& device) {
  return std::make_unique<C10dGroup>(env, device);
}

#else

bool distributed_available() { return false; }
bool nccl_available() { return false; }

std::unique_ptr<ProcessGroup> ProcessGroup::join(const DistEnv& env, const at::Device&) {
  throw Error("WORLD_SIZE=" + std::to_string(env.world),
              "this build has no Gloo headers, so it cannot train across processes: install libgloo-dev "
              "(packaging/debian-packages.txt) and rebuild");
}

#endif

}  // namespace latent
