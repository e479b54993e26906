// The CUDA paths, on a machine with a GPU (label "cuda"; without one the executable reports a skip):
// the model on the GPU agrees with the CPU (fp32 forward, KV-cached greedy decoding,
// DDPM sampling from the same x_T), a bf16-autocast training run finishes with finite
// losses and a loadable checkpoint, a process group of one on NCCL trains as one process,
// and the benchmarks run on the device.
#include <torch/torch.h>

#include <QTemporaryDir>

#include <cstdio>

#include "bench/benchmarks.h"
#include "data/corpus.h"
#include "infer/generator.h"
#include "text/tokenizer.h"
#include "model/config.h"
#include "model/model_io.h"
#include "model/vae_ddpm.h"
#include "test_util.h"
#include "train/distributed.h"
#include "train/trainer.h"
#include "util/runtime_info.h"

using namespace latent;

namespace {

Tokenizer smallTokenizer(const std::vector<std::string>& sentences) {
  TokenizerTrainOptions o;
  o.vocab_size = 1000;
  return Tokenizer::train(sentences, o);
}

}  // namespace

class TestCuda : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  std::vector<std::string> sentences_;

 private Q_SLOTS:
  void init() {
    if (!cuda_available()) QSKIP("no CUDA device on this machine");
  }

  void initTestCase() {
    qInfo("%s", runtime_summary().c_str());
    sentences_ = load_corpus(test::corpusFile("valid.txt")).sentences;
    sentences_.resize(300);
  }

  void forwardAndDecodingMatchTheCpu() {
    Config c = preset("tiny");
    const Tokenizer tok = smallTokenizer(sentences_);
    torch::manual_seed(3);
    VaeDdpm cpu(c.model, tok.vocab_size());
    cpu->eval();
    VaeDdpm gpu(c.model, tok.vocab_size());
    gpu->eval();
    {
      torch::NoGradGuard g;
      auto src = state_tensors(*cpu);
      auto dst = state_tensors(*gpu);
      for (size_t i = 0; i < src.size(); ++i) dst[i].second.copy_(src[i].second);
    }
    gpu->to_device(at::Device(at::kCUDA, 0));
    Generator gc(cpu, tok), gg(gpu, tok, at::Device(at::kCUDA, 0));
    const std::vector<std::string> some(sentences_.begin(), sentences_.begin() + 16);
    const auto mc = gc.encode(some), mg = gg.encode(some);
    QVERIFY((mc - mg).abs().max().item<double>() < 1e-4);
    QCOMPARE(gc.decode_ids(mc, {}), gg.decode_ids(mc, {}));
    // Ancestral sampling draws on the CPU generator, so both devices start from the same x_T.
    const auto sc = gc.sample_latents(8, "ddpm", 0, 11), sg = gg.sample_latents(8, "ddpm", 0, 11).to(at::kCPU);
    QVERIFY((sc - sg).abs().max().item<double>() < 1e-3);
  }

  void bf16TrainingRunsAndSaves() {
    TrainOptions o;
    o.config = preset("tiny");
    o.config.train.steps = 60;
    o.config.train.precision = "bf16";
    o.device = "cuda";
    o.out_dir = tmp_.filePath("run-bf16").toStdString();
    o.train_sentences = sentences_;
    o.valid_sentences.assign(sentences_.begin(), sentences_.begin() + 32);
    TrainControl control;
    int finite = 0;
    TrainCallbacks cb;
    cb.on_step = [&](const TrainProgress& p) { finite += std::isfinite(p.loss) ? 1 : 0; };
    const TrainResult r = train(o, control, cb);
    QVERIFY2(r.status == TrainResult::Status::Finished, r.message.c_str());
    QCOMPARE(finite, 60);
    QVERIFY(load_model(o.out_dir + "/last").model);
  }

  // A process group of one on NCCL (torchrun --nproc-per-node 1 --device cuda): the gradient
  // sums, the step's figures and the stop flags go through NCCL, and the losses are the
  // plain run's (tolerance: GPU kernels' atomics are not bitwise reproducible).
  void ncclProcessGroupOfOneMatchesOneProcess() {
    if (!nccl_available()) QSKIP("this build has no NCCL header (pip nvidia-nccl)");
    auto run = [&](const char* out, bool nccl, std::string& log) {
      TrainOptions o;
      o.config = preset("tiny");
      o.config.model.encoder.dropout = o.config.model.decoder.dropout = 0.0;
      o.config.train.steps = 20;
      o.config.train.eval_every = 0;
      o.device = "cuda";
      o.out_dir = tmp_.filePath(out).toStdString();
      o.train_sentences = sentences_;
      o.valid_sentences.assign(sentences_.begin(), sentences_.begin() + 32);
      if (nccl) {
        o.dist.launched = true;
        o.dist.master_port = 20000 + QCoreApplication::applicationPid() % 20000;
      }
      std::vector<double> losses;
      TrainControl control;
      TrainCallbacks cb;
      cb.on_step = [&](const TrainProgress& p) { losses.push_back(p.loss); };
      cb.on_log = [&](const std::string& line) { log += line + "\n"; };
      const TrainResult r = train(o, control, cb);
      if (r.status != TrainResult::Status::Finished) qWarning("%s", r.message.c_str());
      return losses;
    };
    std::string plain_log, nccl_log;
    const auto a = run("run-plain", false, plain_log), b = run("run-nccl", true, nccl_log);
    LATENT_VERIFY_CONTAINS(nccl_log, "rank 0 of 1 processes (NCCL");
    QCOMPARE(a.size(), size_t(20));
    QCOMPARE(b.size(), size_t(20));
    for (size_t i = 0; i < a.size(); ++i) QVERIFY2(std::abs(a[i] - b[i]) < 1e-3 * std::abs(a[i]), std::to_string(i).c_str());
  }

  void benchmarksRunOnTheDevice() {
    bench::Common c;
    c.config = preset("small");
    c.device = "cuda";
    c.reps = 2;
    c.warmup = 1;
    QVERIFY(bench::train_step(c, 32, 20).sentences_per_sec.median > 0);
    QVERIFY(bench::reconstruct(c, 64, 20, 20, 64, false).seconds.median > 0);
    c.config.model.diffusion.steps = 100;
    QVERIFY(bench::sample(c, 100).median > 0);
  }
};

// Without a GPU the whole executable exits with ctest's skip code (tests/CMakeLists.txt sets
// SKIP_RETURN_CODE 77), so ctest and .ci/run report it as skipped, not passed.
int main(int argc, char** argv) {
  if (!cuda_available()) {
    std::printf("SKIP   : TestCuda: no CUDA device on this machine (%s)\n", runtime_summary().c_str());
    return 77;
  }
  QCoreApplication app(argc, argv);
  TestCuda t;
  return QTest::qExec(&t, argc, argv);
}
#include "test_cuda.moc"
