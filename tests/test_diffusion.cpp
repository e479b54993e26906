// Diffusion: schedules against their closed forms, the training loss and the joint loss
// against values computed by hand, the three noise networks (shapes, gradients, DMLP's
// parameter names and size), and the two samplers (shape, seeds, callbacks).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

#include "model/diffusion.h"
#include "model/noise_nets.h"
#include "test_util.h"

using namespace latent;

namespace {

// eps_hat = 0.5 x_t + t/T: simple enough to follow the loss by hand.
struct AffineNet : NoiseNet {
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t_frac) override { return 0.5 * x + t_frac.unsqueeze(1); }
};
struct ZeroNet : NoiseNet {
  at::Tensor forward(const at::Tensor& x, const at::Tensor&) override { return at::zeros_like(x); }
};

DiffusionConfig schedule(const std::string& kind, int T) {
  DiffusionConfig c;
  c.schedule = kind;
  c.steps = T;
  return c;
}

at::Generator seeded(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

NoiseNetConfig tinyNet(const std::string& type) {
  NoiseNetConfig c;
  c.type = type;
  c.layers = 3;
  c.hidden = 32;
  c.heads = 4;
  return c;
}

double v(const at::Tensor& t, int64_t i) { return t[i].item<double>(); }

#define VERIFY_CLOSE(a, b, rel)                                                                            \
  do {                                                                                                     \
    const double a_ = (a), b_ = (b);                                                                       \
    QVERIFY2(std::abs(a_ - b_) <= (rel)*std::max(1.0, std::abs(b_)),                                       \
             (std::string(#a) + " = " + std::to_string(a_) + ", expected " + std::to_string(b_)).c_str()); \
  } while (0)

bool hasName(torch::nn::Module& m, const std::string& name) { return m.named_parameters().contains(name); }

}  // namespace

class TestDiffusion : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  // The tensors here are tiny: with more threads, per-row parallel kernels (LayerNorm)
  // wait on a busy second core and the suite gets several times slower, not faster.
  void initTestCase() { at::set_num_threads(1); }

  void constantScheduleMatchesClosedForm() {
    const int T = 2000;
    const auto s = make_schedule(schedule("constant", T));
    QCOMPARE(s.T, T);
    for (auto* a : {&s.beta, &s.alpha, &s.alphabar, &s.sqrtab, &s.sqrtmab, &s.oneover_sqrta, &s.sqrt_beta,
                    &s.mab_over_sqrtmab, &s.loss_weight}) {
      QCOMPARE(a->numel(), int64_t(T + 1));
      QCOMPARE(a->scalar_type(), at::kFloat);
    }
    QVERIFY(s.beta.eq(0.008f).all().item<bool>());  // DMLP's override, exactly float32(0.008)
    for (int t : {0, 1, 2, 10, 500, 1999, 2000}) {
      const double ab = std::pow(0.992, t + 1);  // the sum starts at t = 0
      VERIFY_CLOSE(v(s.alphabar, t) / ab, 1.0, 1e-4);
      const double al = v(s.alpha, t), be = v(s.beta, t), abf = v(s.alphabar, t);
      VERIFY_CLOSE(al, 0.992, 1e-7);
      VERIFY_CLOSE(v(s.sqrtab, t), std::sqrt(abf), 1e-6);
      VERIFY_CLOSE(v(s.sqrtmab, t), std::sqrt(1 - abf), 1e-6);
      VERIFY_CLOSE(v(s.oneover_sqrta, t), 1 / std::sqrt(al), 1e-6);
      VERIFY_CLOSE(v(s.sqrt_beta, t), std::sqrt(be), 1e-6);
      VERIFY_CLOSE(v(s.mab_over_sqrtmab, t) / ((1 - al) / std::sqrt(1 - abf)), 1.0, 1e-5);
      VERIFY_CLOSE(v(s.loss_weight, t) / (0.5 * be / (al * (1 - abf))), 1.0, 1e-5);
    }
    // The spec's range of the VAE weight 1/(w T) at T = 2000.
    const auto inv = 1 / (s.loss_weight.narrow(0, 1, T) * T);
    VERIFY_CLOSE(inv.min().item<double>() / 0.001976, 1.0, 1e-3);
    VERIFY_CLOSE(inv.max().item<double>() / 0.124, 1.0, 1e-3);
    QVERIFY(at::equal(s.to(at::kCPU).alphabar, s.alphabar));
  }

  void linearAndCosineSchedulesAreMonotone() {
    for (const char* kind : {"linear", "cosine"}) {
      const auto s = make_schedule(schedule(kind, 1000));
      const auto d = [](const at::Tensor& a) { return a.narrow(0, 1, a.size(0) - 1) - a.narrow(0, 0, a.size(0) - 1); };
      QVERIFY2(d(s.beta).ge(0).all().item<bool>(), kind);
      QVERIFY2(d(s.alphabar).lt(0).all().item<bool>(), kind);
      for (auto* a : {&s.beta, &s.alpha, &s.alphabar})
        QVERIFY2(a->gt(0).all().item<bool>() && a->lt(1).all().item<bool>(), kind);
      QVERIFY2(at::isfinite(s.loss_weight).all().item<bool>() && s.loss_weight.gt(0).all().item<bool>(), kind);
      QVERIFY2(v(s.alphabar, 1000) < 0.01, kind);
    }
    const auto lin = make_schedule(schedule("linear", 1000));
    VERIFY_CLOSE(v(lin.beta, 0), 1e-4, 1e-6);
    VERIFY_CLOSE(v(lin.beta, 1000), 0.02, 1e-6);
  }

  void scheduleErrorsNameTheKey() {
    LATENT_VERIFY_CONTAINS(test::errorOf([] { make_schedule(schedule("quadratic", 10)); }), "model.diffusion.schedule");
    LATENT_VERIFY_CONTAINS(test::errorOf([] { make_schedule(schedule("constant", 0)); }), "model.diffusion.steps");
    auto c = schedule("constant", 10);
    c.beta = 1.5;
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { make_schedule(c); }), "model.diffusion.beta");
  }

  void lossMatchesHandComputation() {
    const int T = 10;
    const auto s = make_schedule(schedule("constant", T));
    AffineNet net;
    const std::vector<std::vector<double>> x = {{1, 2}, {-1, 0.5}, {0.3, -0.7}};
    const std::vector<std::vector<double>> mu = {{0.9, 2.1}, {-1.2, 0.4}, {0.5, -0.5}};
    const std::vector<std::vector<double>> eps = {{0.1, -0.2}, {0.5, 0.3}, {-1, 2}};
    const std::vector<int64_t> t = {1, 5, 10};
    auto mat = [](const std::vector<std::vector<double>>& m) {
      return at::tensor({m[0][0], m[0][1], m[1][0], m[1][1], m[2][0], m[2][1]}, at::kFloat).view({3, 2});
    };
    const auto r = diffusion_loss_given(net, s, mat(x), mat(mu), at::tensor(t, at::kLong), mat(eps));
    QCOMPARE(r.loss.sizes(), at::IntArrayRef({3}));
    QCOMPARE(r.weight.sizes(), at::IntArrayRef({3}));
    QVERIFY(at::equal(r.t, at::tensor(t, at::kLong)));
    const double a = 0.992, b = 0.008;
    for (int i = 0; i < 3; ++i) {
      const double ab = std::pow(a, t[i] + 1);
      double sum = 0;
      for (int d = 0; d < 2; ++d) {
        const double xt = std::sqrt(ab) * x[i][d] + std::sqrt(1 - ab) * eps[i][d];
        const double eh = 0.5 * xt + double(t[i]) / T;
        if (t[i] == 1) {
          const double x0 = (xt - std::sqrt(b) * eh) / std::sqrt(a);
          sum += (mu[i][d] - x0) * (mu[i][d] - x0);
        } else {
          sum += (eps[i][d] - eh) * (eps[i][d] - eh);
        }
      }
      const double expected = (t[i] == 1 ? a / b : 1.0) * sum / 2;
      VERIFY_CLOSE(v(r.loss, i) / expected, 1.0, 1e-4);
      VERIFY_CLOSE(v(r.weight, i) / (0.5 * b / (a * (1 - ab))), 1.0, 1e-5);
    }
  }

  void lossDrawsTThenEpsFromTheGenerator() {
    const int T = 50;
    const auto s = make_schedule(schedule("constant", T));
    AffineNet net;
    const auto x = at::randn({16, 4}, seeded(1)).requires_grad_();
    const auto mu = x.detach() * 0.9;
    const auto r = diffusion_loss(net, s, x, mu, seeded(7));
    auto g = seeded(7);
    const auto t = at::randint(1, T + 1, {16}, g, at::kLong);
    const auto eps = at::randn({16, 4}, g);
    const auto ref = diffusion_loss_given(net, s, x, mu, t, eps);
    QVERIFY(at::equal(r.t, t));
    QVERIFY(at::allclose(r.loss, ref.loss));
    QVERIFY(at::equal(r.weight, s.loss_weight.index_select(0, t)));
    QVERIFY(r.t.ge(1).all().item<bool>() && r.t.le(T).all().item<bool>());
    r.loss.mean().backward();  // x is not detached: the loss reaches the encoder
    QVERIFY(x.grad().defined() && x.grad().abs().sum().item<double>() > 0);
    const auto other = diffusion_loss(net, s, x, mu, seeded(8));
    QVERIFY(!at::equal(other.t, r.t) || !at::allclose(other.loss, r.loss));
  }

  void jointLossBothPairings() {
    const auto vae = at::tensor({2.0, 4.0, 6.0}, at::kFloat);
    const auto w = at::tensor({0.01, 0.02, 0.05}, at::kFloat);
    const auto ddpm = at::tensor({0.1, 0.2, 0.3}, at::kFloat);
    // 1/(w T) = 10, 5, 2 (mean 17/3); mean vae 4; mean ddpm 0.2.
    VERIFY_CLOSE(joint_loss(vae, w, ddpm, 10, 10, "dmlp").item<double>(), 17.0 / 3 * 4 + 2, 1e-6);
    // vae/(w T) = 20, 20, 12 (mean 52/3).
    VERIFY_CLOSE(joint_loss(vae, w, ddpm, 10, 10, "per_sample").item<double>(), 52.0 / 3 + 2, 1e-6);
    VERIFY_CLOSE(joint_loss(vae, w, ddpm, 0, 10, "dmlp").item<double>(), 4.0, 1e-6);
    VERIFY_CLOSE(joint_loss(vae, at::Tensor(), at::Tensor(), 0, 10, "per_sample").item<double>(), 4.0, 1e-6);
    QCOMPARE(joint_loss(vae, w, ddpm, 10, 10, "dmlp").dim(), int64_t(0));
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { joint_loss(vae, w, ddpm, 10, 10, "mean"); }), "model.loss_pairing");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { joint_loss(vae, w, ddpm, -1, 10, "dmlp"); }), "model.alpha_ddpm");
  }

  void timestepEmbeddingFeatures() {
    const auto e = timestep_embedding(at::tensor({0.0, 0.5, 1.0}, at::kFloat));
    QCOMPARE(e.sizes(), at::IntArrayRef({3, 64}));
    QVERIFY(at::equal(e[0], at::cat({at::ones({32}), at::zeros({32})})));
    const double f5 = std::exp(-std::log(10000.0) * 5 / 32);
    VERIFY_CLOSE(e[1][5].item<double>(), std::cos(0.5 * f5), 1e-6);
    VERIFY_CLOSE(e[2][32 + 5].item<double>(), std::sin(1.0 * f5), 1e-6);
    const auto odd = timestep_embedding(at::tensor({0.3, 0.7}, at::kFloat), 7);
    QCOMPARE(odd.sizes(), at::IntArrayRef({2, 7}));
    QVERIFY(odd.select(1, 6).eq(0).all().item<bool>());
  }

  void noiseNetsShapesAndGradients() {
    for (const char* type : {"mlp_skip", "transformer", "linear"}) {
      auto net = make_noise_net(tinyNet(type), 8);
      const auto x = at::randn({5, 8}, seeded(3)).requires_grad_();
      const auto out = net->forward(x, at::rand({5}, seeded(4)));
      QVERIFY2(out.sizes() == at::IntArrayRef({5, 8}), type);
      QVERIFY2(at::isfinite(out).all().item<bool>(), type);
      out.pow(2).sum().backward();
      QVERIFY2(x.grad().defined() && x.grad().abs().sum().item<double>() > 0, type);
      for (const auto& p : net->named_parameters())
        QVERIFY2(p.value().grad().defined(), (std::string(type) + ": no gradient for " + p.key()).c_str());
    }
  }

  void noiseNetsUseDmlpNames() {
    auto mlp = make_noise_net(tinyNet("mlp_skip"), 8);
    for (const char* n :
         {"time_embed.0.weight", "time_embed.2.bias", "layers.0.linear.weight", "layers.0.linear_emb.weight",
          "layers.1.norm.weight", "layers.2.linear.weight", "layers.2.linear.bias"})
      QVERIFY2(hasName(*mlp, n), n);
    QVERIFY(!hasName(*mlp, "layers.2.norm.weight") && !hasName(*mlp, "layers.2.linear_emb.weight"));
    QCOMPARE(mlp->named_parameters()["layers.1.linear.weight"].sizes(), at::IntArrayRef({32, 40}));
    auto tr = make_noise_net(tinyNet("transformer"), 8);
    for (const char* n : {"linear_1.weight", "linear_2.bias", "time_embed.0.weight",
                          "transformer_encoder.layers.2.self_attn.in_proj_weight",
                          "transformer_encoder.layers.0.self_attn.in_proj_bias",
                          "transformer_encoder.layers.0.self_attn.out_proj.weight",
                          "transformer_encoder.layers.1.linear1.weight", "transformer_encoder.layers.1.linear2.bias",
                          "transformer_encoder.layers.0.norm1.weight", "transformer_encoder.layers.0.norm2.bias"})
      QVERIFY2(hasName(*tr, n), n);
    QCOMPARE(tr->named_parameters()["linear_1.weight"].sizes(), at::IntArrayRef({4 * 32, 8}));
    auto lin = make_noise_net(tinyNet("linear"), 8);
    for (const char* n :
         {"timeembed.lin1.weight", "timeembed.lin2.weight", "linear.0.0.weight", "linear.1.0.bias", "linear.2.weight"})
      QVERIFY2(hasName(*lin, n), n);
    QVERIFY(!hasName(*lin, "timeembed.lin1.bias"));
  }

  // Attention runs over each sample's 4 tokens, so a sample's output does not depend
  // on the rest of the batch (it would with DMLP's batch_first mistake).
  void transformerSamplesAreIndependent() {
    auto net = make_noise_net(tinyNet("transformer"), 8);
    net->eval();
    const auto x = at::randn({6, 8}, seeded(5));
    const auto t = at::rand({6}, seeded(6));
    const auto all = net->forward(x, t);
    const auto first = net->forward(x.narrow(0, 0, 2), t.narrow(0, 0, 2));
    QVERIFY(at::allclose(all.narrow(0, 0, 2), first, 1e-5, 1e-6));
  }

  void mlpSkipNetAtDmlpSize() {
    NoiseNetConfig c;
    c.type = "mlp_skip";
    c.layers = 20;
    c.hidden = 2048;
    const int64_t D = 128, H = 2048;
    auto net = make_noise_net(c, D);
    int64_t count = 0;
    for (const auto& p : net->parameters()) count += p.numel();
    const int64_t expected = (64 * D + D) + (D * D + D)                        // time_embed
                             + (D * H + H) + (D * H + H) + 2 * H               // layer 0
                             + 18 * (((H + D) * H + H) + (D * H + H) + 2 * H)  // layers 1..18
                             + ((H + D) * D + D);                              // layer 19
    QCOMPARE(count, expected);
    QVERIFY(count > 85'000'000 && count < 87'000'000);
    // Kaiming normal (fan_in, ReLU gain) on SiLU layers; PyTorch's default on the last.
    const auto params = net->named_parameters();
    VERIFY_CLOSE(params["layers.1.linear.weight"].std().item<double>() / std::sqrt(2.0 / (H + D)), 1.0, 0.01);
    VERIFY_CLOSE(params["layers.1.linear_emb.weight"].std().item<double>() / std::sqrt(2.0 / D), 1.0, 0.01);
    VERIFY_CLOSE(params["layers.19.linear.weight"].std().item<double>() * std::sqrt(3.0 * (H + D)), 1.0, 0.01);
  }

  void noiseNetConfigErrorsNameTheKey() {
    LATENT_VERIFY_CONTAINS(test::errorOf([] { make_noise_net(tinyNet("unet"), 8); }), "model.noise_net.type");
    auto c = tinyNet("transformer");
    c.heads = 5;
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { make_noise_net(c, 8); }), "model.noise_net.heads");
    c = tinyNet("mlp_skip");
    c.layers = 1;
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { make_noise_net(c, 8); }), "model.noise_net.layers");
  }

  void ancestralStepFormula() {
    const auto s = make_schedule(schedule("constant", 10));
    AffineNet net;
    const auto x = at::randn({3, 2}, seeded(9));
    const auto noise = at::randn({3, 2}, seeded(10));
    for (int i : {1, 4, 10}) {
      const auto eps = 0.5 * x + double(i) / 10;
      auto expected = v(s.oneover_sqrta, i) * (x - v(s.mab_over_sqrtmab, i) * eps);
      const auto got = ancestral_step(net, s, x, i, i > 1 ? noise : at::Tensor());
      if (i > 1) expected = expected + v(s.sqrt_beta, i) * noise;
      QVERIFY2(at::allclose(got, expected, 1e-5, 1e-6), std::to_string(i).c_str());
    }
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { ancestral_step(net, s, x, 0, {}); }), "ancestral_step");
  }

  void ancestralSampling() {
    const int T = 20;
    const auto s = make_schedule(schedule("constant", T));
    auto net = make_noise_net(tinyNet("mlp_skip"), 8);
    net->eval();
    std::vector<int> steps;
    const auto a = sample_ancestral(*net, s, 4, 8, at::kCPU, seeded(11), [&](int i, const at::Tensor& x) {
      steps.push_back(i);
      QCOMPARE(x.sizes(), at::IntArrayRef({4, 8}));
    });
    QCOMPARE(a.sizes(), at::IntArrayRef({4, 8}));
    QVERIFY(at::isfinite(a).all().item<bool>());
    QVERIFY(!a.requires_grad());
    QCOMPARE(int(steps.size()), T);
    for (int k = 0; k < T; ++k) QCOMPARE(steps[k], T - 1 - k);
    // DMLP's draw order: x_T, then before each step i > 1 its noise. Following it is what
    // makes the result equal DMLP's sample() for the same seed.
    auto g = seeded(11);
    auto x = at::randn({4, 8}, g);
    for (int i = T; i >= 1; --i) {
      const auto z = i > 1 ? at::randn({4, 8}, g) : at::Tensor();
      x = ancestral_step(*net, s, x, i, z);
    }
    QVERIFY(at::equal(a, x));
    QVERIFY(at::equal(a, sample_ancestral(*net, s, 4, 8, at::kCPU, seeded(11))));
    QVERIFY(!at::allclose(a, sample_ancestral(*net, s, 4, 8, at::kCPU, seeded(12))));
  }

  void ddimSampling() {
    const int T = 20;
    const auto s = make_schedule(schedule("constant", T));
    auto net = make_noise_net(tinyNet("mlp_skip"), 8);
    net->eval();
    std::vector<int> steps;
    const auto a =
        sample_ddim(*net, s, 4, 8, 5, at::kCPU, seeded(11), [&](int i, const at::Tensor&) { steps.push_back(i); });
    QCOMPARE(a.sizes(), at::IntArrayRef({4, 8}));
    QVERIFY(at::isfinite(a).all().item<bool>());
    QCOMPARE(steps, (std::vector<int>{16, 12, 8, 4, 0}));  // floor(j T / steps), j = 4 .. 0
    QVERIFY(at::equal(a, sample_ddim(*net, s, 4, 8, 5, at::kCPU, seeded(11))));
    QVERIFY(!at::allclose(a, sample_ddim(*net, s, 4, 8, 5, at::kCPU, seeded(12))));
    steps.clear();
    sample_ddim(*net, s, 2, 8, 50, at::kCPU, seeded(1), [&](int i, const at::Tensor&) { steps.push_back(i); });
    QCOMPARE(int(steps.size()), T);  // clamped to T
    QCOMPARE(steps.front(), T - 1);
    QCOMPARE(steps.back(), 0);
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { sample_ddim(*net, s, 2, 8, 0, at::kCPU, seeded(1)); }), "sample.steps");
    // With eps_hat = 0 DDIM only rescales x_T: x_0 = x_T / sqrtab[T], x_T = the first draw.
    ZeroNet zero;
    const auto z = sample_ddim(zero, s, 4, 8, 5, at::kCPU, seeded(11));
    QVERIFY(at::allclose(z * v(s.sqrtab, T), at::randn({4, 8}, seeded(11)), 1e-5, 1e-6));
  }
};

QTEST_GUILESS_MAIN(TestDiffusion)
#include "test_diffusion.moc"
