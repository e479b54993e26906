// Where a training process sits in a multi-process job (torchrun's or Slurm's variables)
// and which rows of each batch it takes. Free of LibTorch: the trainer's options hold it.
// train/distributed.h joins the process group.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace latent {

// Where this process sits in the job. From torchrun's variables (RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT), else Slurm's (SLURM_PROCID, SLURM_NTASKS,
// SLURM_LOCALID; MASTER_ADDR and MASTER_PORT must still be set), else one process.
struct DistEnv {
  int rank = 0, world = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  double timeout_seconds = 120;  // LATENT_DIST_TIMEOUT: a collective waiting longer fails
  int64_t bucket_bytes = 25 << 20;  // LATENT_DIST_BUCKET_KB: gradient buckets (train/grad_sync.h)
  // WORLD_SIZE 1 with MASTER_ADDR and MASTER_PORT (torchrun --nproc-per-node 1): a process
  // group of one, so that a launcher's single process runs the multi-process path.
  bool launched = false;
  bool active() const { return world > 1 || launched; }
};

// env: the variables to read (the process environment when empty). Throws latent::Error
// naming the variable for a malformed or inconsistent value.
DistEnv dist_env_from(const std::map<std::string, std::string>& env = {});

// Rows [offset, offset + count) of a batch of `rows` for `rank` of `world`: equal shares,
// the first rows % world ranks one row more.
struct RowShare {
  int64_t offset = 0, count = 0;
};
RowShare row_share(int64_t rows, int rank, int world);

}  // namespace latent
