// The seed designs (issue 13, docs/DESIGNS.md): the named designs, the latent as n tokens
// (t5-vae), the regularisers (MMD, adversarial prior), the KL modes and schedules, DAVAE's
// embedding noise and per-layer latent, repetition penalty and paraphrases, each against
// values computed here by hand or taken from the original code's fixtures.
#include <torch/torch.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <set>

#include "infer/generator.h"
#include "io/model_dir.h"
#include "model/config.h"
#include "model/designs.h"
#include "model/families/bert.h"
#include "model/family.h"
#include "model/model_io.h"
#include "model/noise_nets.h"
#include "model/regularizers.h"
#include "model/vae_ddpm.h"
#include "train/kl_schedule.h"
#include "model_fixtures.h"
#include "test_util.h"

using namespace latent;
using test::hasParam;
using test::tinyModel;
using test::tinyTokenizer;

namespace {

// The tiny preset with the latent as `tokens` tokens of 16 / tokens; the memory slots alone
// carry z (no embedding), so the decoder's output depends on z only through them.
Config tokensConfig(int tokens, const std::string& decoder_arch = "gpt2") {
  Config c = preset("tiny");
  c.model.latent_tokens = tokens;
  c.model.decoder = with_decoder_arch(c.model.decoder, decoder_arch, "test");
  c.model.decoder.latent_as_embedding = false;
  if (decoder_arch == "llama") c.model.decoder.kv_heads = 1;  // grouped-query: one key/value head for 2
  validate(c, "test");
  return c;
}

// z (B, n w) with its tokens in the order `perm`.
at::Tensor permuteTokens(const at::Tensor& z, int tokens, const std::vector<int64_t>& perm) {
  return z.view({z.size(0), tokens, -1}).index_select(1, torch::tensor(perm, torch::kLong)).reshape({z.size(0), -1});
}

}  // namespace

class TestDesigns : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  // The named designs (train --design, the Train view): each sets its own keys and resets
  // the others', so one chosen over another leaves nothing behind; each builds a model.
  void designsSetTheirKeysAndResetTheOthers() {
    QCOMPARE(designs().size(), size_t(4));
    const Config davae = with_design(preset("tiny"), "davae");
    QCOMPARE(QString::fromStdString(davae.model.posterior), QString("learned"));
    QCOMPARE(QString::fromStdString(davae.model.regularizer), QString("adversarial"));
    QCOMPARE(davae.model.encoder.embedding_noise, 0.1);
    QVERIFY(davae.model.decoder.latent_every_layer);
    QCOMPARE(davae.train.ddpm_detach_steps, 1000000000);
    QCOMPARE(davae.model.encoder.hidden, preset("tiny").model.encoder.hidden);  // shapes untouched
    Config c = preset("tiny");
    c.train.steps = 1234;
    const Config optimus = with_design(with_design(c, "davae"), "optimus");
    QCOMPARE(QString::fromStdString(optimus.model.kl_schedule), QString("optimus"));
    QCOMPARE(optimus.model.kl_anneal_steps, 1234);  // the cycle spans the run
    QCOMPARE(QString::fromStdString(optimus.model.regularizer), QString("none"));
    QCOMPARE(optimus.model.encoder.embedding_noise, 0.0);
    QVERIFY(!optimus.model.decoder.latent_every_layer);
    const Config t5 = with_design(optimus, "t5vae");
    QCOMPARE(QString::fromStdString(t5.model.posterior), QString("fixed"));
    QCOMPARE(QString::fromStdString(t5.model.regularizer), QString("mmd"));
    QCOMPARE(t5.model.free_bits, 0.0);
    const Config dmlp = with_design(t5, "dmlp");
    QCOMPARE(QString::fromStdString(dmlp.model.regularizer), QString("none"));
    QCOMPARE(dmlp.train.ddpm_detach_steps, t5.train.ddpm_detach_steps);  // DMLP's is the preset's own
    for (const auto& d : designs()) {
      const Config x = with_design(preset("tiny"), d.name);
      VaeDdpm m(x.model, x.model.tokenizer.vocab_size);
      QVERIFY(!m->parameters().empty());
    }
    bool threw = false;
    try {
      with_design(c, "vqvae");
    } catch (const std::exception& e) {
      threw = std::string(e.what()).find("known: dmlp, optimus, t5vae, davae") != std::string::npos;
    }
    QVERIFY(threw);
  }


  // n latent tokens as n memory slots per block: slot j of block b, head h is rows
  // [b H + h d, b H + (h + 1) d) of the memory projection times token j, as key and value;
  // the slots are a set (the output does not depend on their order, but on each one), and
  // step-by-step decoding with the cache equals the whole sequence at once. GPT-2 and Llama
  // (grouped-query attention: slots per key/value head).
  void latentTokensAreMemorySlotsByHand() {
    c10::InferenceMode guard;
    for (const std::string arch : {"gpt2", "llama"}) {
      const Config c = tokensConfig(4, arch);
      VaeDdpm m = tinyModel(c, 300);
      auto& dec = *m->decoder;
      const auto W = dec.named_parameters()[arch == "gpt2" ? "transformer.linear.weight" : "model.linear.weight"];
      QCOMPARE(W.size(1), int64_t(4));  // one token: 16 / 4
      const int64_t heads = arch == "gpt2" ? c.model.decoder.heads : 1, d = c.model.decoder.hidden / c.model.decoder.heads;
      const auto z = torch::randn({2, 16});
      KVCache cache = dec.start(z, 6);
      QCOMPARE(cache.layers.size(), size_t(dec.num_blocks()));
      for (int b = 0; b < dec.num_blocks(); ++b) {
        QCOMPARE(cache.layers[b].length, int64_t(4));
        QCOMPARE(cache.layers[b].k.size(2), int64_t(4 + 6));  // slots + the tokens asked for
        for (int64_t h = 0; h < heads; ++h)
          for (int64_t j = 0; j < 4; ++j) {
            const auto rows = W.narrow(0, (b * heads + h) * d, d);                  // (d, 4)
            const auto expected = at::matmul(z.narrow(1, 4 * j, 4), rows.t());  // (2, d)
            QVERIFY((cache.layers[b].k.select(1, h).select(1, j) - expected).abs().max().item<double>() < 1e-6);
            QVERIFY(torch::equal(cache.layers[b].k.select(1, h).select(1, j), cache.layers[b].v.select(1, h).select(1, j)));
          }
      }
      const auto ids = torch::randint(4, 300, {2, 6}, torch::kLong);
      const auto full = dec.forward(ids, z);
      QVERIFY((full - dec.forward(ids, permuteTokens(z, 4, {2, 0, 3, 1}))).abs().max().item<double>() < 1e-5);
      auto one_changed = z.clone();
      one_changed.narrow(1, 8, 4).mul_(-2);
      QVERIFY((full - dec.forward(ids, one_changed)).abs().max().item<double>() > 1e-3);
      KVCache c2 = dec.start(z, 6);
      for (int t = 0; t < 6; ++t) {
        const auto step = dec.step(c2, ids.narrow(1, t, 1));
        QVERIFY2((step.select(1, 0) - full.select(1, t)).abs().max().item<double>() < 1e-5, (arch + " " + std::to_string(t)).c_str());
      }
      // One token is DMLP's single slot: the projection takes all of z.
      VaeDdpm one = tinyModel(tokensConfig(1, arch), 300);
      QCOMPARE(one->decoder->start(z, 6).layers[0].length, int64_t(1));
    }
  }

  // t5-vae's latent: the latent projection on each of the encoder's first n hidden states,
  // tanh on mu; a sentence shorter than n is padded to n first.
  void tokenPoolingByHand() {
    c10::InferenceMode guard;
    Config c = tokensConfig(4);
    c.model.encoder.pooling = "tokens";
    VaeDdpm m = tinyModel(c, 300);
    auto& enc = *m->encoder;
    QCOMPARE(enc.linear->weight.size(0), int64_t(2 * 4));  // mu and logvar of one token
    const auto ids = torch::tensor({{2, 10, 11, 12, 13, 3}, {2, 20, 3, 0, 0, 0}}, torch::kLong);
    const auto out = enc.forward(ids);
    QCOMPARE(out.mu.sizes().vec(), (std::vector<int64_t>{2, 16}));
    const auto h = enc.hidden_states(ids).narrow(1, 0, 4);  // (2, 4, H)
    const auto proj = at::matmul(h, enc.linear->weight.t());  // (2, 4, 8)
    QVERIFY((out.mu - at::tanh(proj.narrow(2, 0, 4)).reshape({2, 16})).abs().max().item<double>() < 1e-6);
    QVERIFY((out.logvar - proj.narrow(2, 4, 4).reshape({2, 16})).abs().max().item<double>() < 1e-6);
    QVERIFY(out.mu.abs().max().item<double>() < 1.0);
    const auto shortIds = torch::tensor({{2, 20, 3}}, torch::kLong);  // 3 tokens < 4: padded
    QVERIFY((enc.forward(shortIds).mu - out.mu.narrow(0, 1, 1)).abs().max().item<double>() < 1e-5);
    // Other poolings project the pooled vector to the whole of z, whatever n.
    VaeDdpm avg = tinyModel(tokensConfig(4), 300);
    QCOMPARE(avg->encoder->linear->weight.size(0), int64_t(2 * 16));
  }

  // The transformer noise network sees n latent tokens as its tokens: with its slot
  // embedding at zero, permuting the input's tokens permutes the output's (it is not a
  // flat-vector network); with the slot embedding, tokens are told apart.
  void transformerNoiseNetSeesTheTokens() {
    torch::NoGradGuard guard;
    NoiseNetConfig nc;
    nc.type = "transformer";
    nc.layers = 2;
    nc.hidden = 32;
    nc.heads = 4;
    nc.dropout = 0.0;
    auto net = make_noise_net(nc, LatentShape(16, 4));
    net->eval();
    auto params = net->named_parameters();
    QCOMPARE(params["linear_1.weight"].sizes().vec(), (std::vector<int64_t>{32, 4}));
    QCOMPARE(params["slot_embed"].sizes().vec(), (std::vector<int64_t>{4, 32}));
    const auto x = torch::randn({3, 16}), t = torch::full({3}, 0.3);
    const std::vector<int64_t> perm = {3, 1, 0, 2};
    params["slot_embed"].zero_();
    for (auto& p : net->named_parameters())
      if (p.key().rfind("time_embed.", 0) == 0) p.value().zero_();  // cond = 0: tokens alone
    const auto y = net->forward(x, t);
    QCOMPARE(y.sizes().vec(), (std::vector<int64_t>{3, 16}));
    QVERIFY((net->forward(permuteTokens(x, 4, perm), t) - permuteTokens(y, 4, perm)).abs().max().item<double>() < 1e-5);
    params["slot_embed"].normal_();
    QVERIFY((net->forward(permuteTokens(x, 4, perm), t) - permuteTokens(net->forward(x, t), 4, perm)).abs().max().item<double>() > 1e-3);
    // One token keeps DMLP's layout: the flat latent through 4 tokens of E.
    auto dmlp = make_noise_net(nc, LatentShape(16, 1));
    QCOMPARE(dmlp->named_parameters()["linear_1.weight"].sizes().vec(), (std::vector<int64_t>{4 * 32, 16}));
    QVERIFY(!hasParam(*dmlp, "slot_embed"));
  }

  // The MMD takes the n tokens of each z as n samples of D/n: the model's regulariser term
  // equals mmd_loss on z viewed as (B, n, D/n), with the same random draws.
  void mmdSeesTheLatentTokens() {
    Config c = tokensConfig(4);
    c.model.regularizer = "mmd";
    c.model.alpha_ddpm = 0.0;
    VaeDdpm m = tinyModel(c, 300);
    Batch b{torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}, {2, 13, 14, 3}}, torch::kLong),
            torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}, {2, 13, 14, 3}}, torch::kLong)};
    const double reg = m->forward(b, at::make_generator<at::CPUGeneratorImpl>(9)).reg.item<double>();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
    const auto z = m->reparameterize(m->posterior(b.enc_ids), gen);  // forward's first draw
    const double expected = mmd_loss(z.view({3, 4, 4}), gen).item<double>();
    QVERIFY2(std::abs(reg - expected) < 1e-6, (std::to_string(reg) + " vs " + std::to_string(expected)).c_str());
    // The same draws on z as one vector per sentence (what the MMD saw before tokens): another value.
    auto flat_gen = at::make_generator<at::CPUGeneratorImpl>(9);
    const auto z_flat = m->reparameterize(m->posterior(b.enc_ids), flat_gen);
    QVERIFY(std::abs(reg - mmd_loss(z_flat, flat_gen).item<double>()) > 1e-6);
  }

  // The t5vae design's latent end to end: it trains (finite loss, gradients into the
  // per-token projection), saves and loads to the same outputs, and the generator's
  // interpolation and prior sampling work on the flat n x w vectors.
  void t5vaeDesignModelWorksEndToEnd() {
    QTemporaryDir dir;
    const Config c = with_design(preset("tiny"), "t5vae");
    QCOMPARE(c.model.latent_tokens, 4);
    QCOMPARE(QString::fromStdString(c.model.encoder.pooling), QString("tokens"));
    const Tokenizer tok = tinyTokenizer();
    VaeDdpm m = tinyModel(c, tok.vocab_size());
    m->train();
    Batch b{torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}}, torch::kLong), torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}}, torch::kLong)};
    const LossOutput out = m->forward(b, at::make_generator<at::CPUGeneratorImpl>(2));
    QVERIFY(std::isfinite(out.loss.item<double>()));
    out.loss.backward();
    QVERIFY(m->encoder->linear->weight.grad().abs().sum().item<double>() > 0);
    m->eval();
    const std::string path = dir.filePath("t5vae").toStdString();
    save_model(path, c, tok, m);
    LoadedModel lm = load_model(path);
    QCOMPARE(lm.config.model.latent_tokens, 4);
    c10::InferenceMode guard;
    const auto z = torch::randn({1, c.model.latent_dim});
    QVERIFY(torch::equal(m->decoder->forward(b.dec_ids.narrow(0, 0, 1), z), lm.model->decoder->forward(b.dec_ids.narrow(0, 0, 1), z)));
    Generator gen(lm.model, lm.tokenizers);
    const auto path5 = gen.interpolate("the cat sat on the mat", "a dog ran in the park", 5, false);
    QCOMPARE(path5.sentences.size(), size_t(5));
    QCOMPARE(gen.sample_latents(3, "ddim", 5, 1).sizes().vec(), (std::vector<int64_t>{3, c.model.latent_dim}));
  }

  void latentTokensMustDivideTheLatent() {
    LATENT_VERIFY_CONTAINS(test::errorOf([] {
      merge_config(preset("tiny"), nlohmann::json::parse(R"({"model": {"latent_tokens": 3}})"), "cfg.json");
    }), "cfg.json: model.latent_tokens");
    LATENT_VERIFY_CONTAINS(test::errorOf([] {
      merge_config(preset("tiny"), nlohmann::json::parse(R"({"model": {"latent_tokens": 0}})"), "cfg.json");
    }), "model.latent_tokens");
  }

  // t5-vae's MMD, against the formula computed here with plain loops:
  // k(x, y) = exp(-mean_i (x_i - y_i)^2 / dim); mean Kxx + mean Kyy - 2 mean Kxy.
  void mmdMatchesTheFormula() {
    const auto x = torch::tensor({{0.0, 1.0, 2.0}, {1.0, -1.0, 0.5}}, torch::kDouble);
    const auto y = torch::tensor({{0.5, 0.5, 0.5}, {-1.0, 2.0, 0.0}, {0.0, 0.0, 1.0}}, torch::kDouble);
    auto k = [](const at::Tensor& a, const at::Tensor& b) {
      double sum = 0;
      for (int64_t i = 0; i < a.size(0); ++i)
        for (int64_t j = 0; j < b.size(0); ++j) {
          double d = 0;
          for (int64_t t = 0; t < 3; ++t) d += std::pow(a[i][t].item<double>() - b[j][t].item<double>(), 2);
          sum += std::exp(-(d / 3) / 3);
        }
      return sum / static_cast<double>(a.size(0) * b.size(0));
    };
    const double expected = k(x, x) + k(y, y) - 2 * k(x, y);
    QVERIFY(std::abs(mmd(x, y).item<double>() - expected) < 1e-12);
    QVERIFY(mmd(y, y).item<double>() < 1e-12);
    // mmd_loss: / batch x latent tokens; (B, n, d) latents are flattened to (B n, d).
    auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
    const auto z = torch::randn({4, 2, 3}, torch::kDouble);
    const double loss = mmd_loss(z, gen).item<double>();
    auto gen2 = at::make_generator<at::CPUGeneratorImpl>(3);
    const auto prior = at::randn({8, 3}, gen2, torch::kDouble);
    QVERIFY(std::abs(loss - mmd(z.reshape({8, 3}), prior).item<double>() / 4 * 2) < 1e-12);
  }

  // DAVAE's adversarial prior: the discriminator's loss is BCE(D(z), 0) + BCE(D(n), 1) and
  // moves only the discriminator; the encoder's term BCE(D(z), 1) moves only the encoder.
  void adversarialPriorTrainsEachSideOnItsOwnTerm() {
    Config c = preset("tiny");
    c.model.regularizer = "adversarial";
    c.model.alpha_ddpm = 0;
    VaeDdpm m = tinyModel(c, 300);
    QVERIFY(hasParam(*m, "discriminator.hidden.weight"));
    QCOMPARE(m->discriminator->hidden->weight.size(0), int64_t(4 * c.model.latent_dim));
    QVERIFY(VaeDdpmImpl::trainable("discriminator.out.bias", "latent", true));
    const auto z = torch::randn({5, c.model.latent_dim}, torch::requires_grad());
    auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
    const AdversarialLoss a = adversarial_loss(*m->discriminator, z, gen);
    auto gen2 = at::make_generator<at::CPUGeneratorImpl>(11);
    const auto prior = at::randn(z.sizes(), gen2, z.options());
    auto bce = [](const at::Tensor& logits, double t) {  // -mean(t log s + (1 - t) log(1 - s))
      const auto p = torch::sigmoid(logits);
      return -(t * torch::log(p) + (1 - t) * torch::log(1 - p)).mean().item<double>();
    };
    const double expected = bce(m->discriminator->forward(z), 0) + bce(m->discriminator->forward(prior), 1);
    QVERIFY(std::abs(a.discriminator.item<double>() - expected) < 1e-5);
    QVERIFY(std::abs(a.encoder.item<double>() - bce(m->discriminator->forward(z), 1)) < 1e-5);
    a.encoder.backward();
    QVERIFY(z.grad().abs().sum().item<double>() > 0);
    QVERIFY(!m->discriminator->hidden->weight.grad().defined());  // the encoder's term does not move D
    a.discriminator.backward();
    QVERIFY(m->discriminator->hidden->weight.grad().abs().sum().item<double>() > 0);
    // In the model's loss, with the MMD too; config.json keeps the choice.
    m->train();
    Batch b{torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}}, torch::kLong), torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}}, torch::kLong)};
    const LossOutput out = m->forward(b, at::Generator());
    QVERIFY(out.reg.item<double>() > 0);
    QVERIFY(std::abs(out.loss.item<double>() - (out.vae.mean() + out.reg).item<double>()) < 1e-5);
    c.model.regularizer = "mmd";
    VaeDdpm mm = tinyModel(c, 300);
    QVERIFY(!mm->discriminator);
    QVERIFY(mm->forward(b, at::Generator()).reg.item<double>() > 0);
    const Config back = config_from_json(config_to_json(c), "round trip");
    QCOMPARE(back.model.regularizer, std::string("mmd"));
  }

  // transformer-vae's warm-up of the regulariser weight, sigmoid(k step - b), by hand, and
  // its effect on the model's loss (the same MMD draw at scale 1 and 0.25).
  void regularizerWarmupByHand() {
    Config c = preset("tiny");
    QCOMPARE(regularizer_scale_at(c.model, 0), 1.0);  // k = 0: constant
    c.model.regularizer_warmup_k = 0.0025;
    c.model.regularizer_warmup_b = 6.25;
    QVERIFY(std::abs(regularizer_scale_at(c.model, 0) - 1.0 / (1.0 + std::exp(6.25))) < 1e-15);  // 0.00193
    QCOMPARE(regularizer_scale_at(c.model, 2500), 0.5);
    QVERIFY(std::abs(regularizer_scale_at(c.model, 5000) - 1.0 / (1.0 + std::exp(-6.25))) < 1e-15);
    QCOMPARE(with_design(preset("tiny"), "t5vae").model.regularizer_warmup_k, 0.0025);
    c.model.regularizer = "mmd";
    c.model.alpha_ddpm = 0;
    VaeDdpm m = tinyModel(c, 300);
    m->eval();  // no dropout: the two passes differ by the scale only
    Batch b{torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}}, torch::kLong), torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}}, torch::kLong)};
    const double full = m->forward(b, at::make_generator<at::CPUGeneratorImpl>(4)).reg.item<double>();
    const double quarter = m->forward(b, at::make_generator<at::CPUGeneratorImpl>(4), 1.0, false, nullptr, 0.25).reg.item<double>();
    QVERIFY(full > 0);
    QVERIFY2(std::abs(quarter - 0.25 * full) < 1e-9 * full, (std::to_string(quarter) + " " + std::to_string(full)).c_str());
  }

  // Optimus's frange_cycle_zero_linear: every value of the cases that
  // tests/fixtures/optimus/make_schedule_fixture.py took from Optimus's own function.
  void optimusScheduleMatchesOptimus() {
    const auto ref = test::readJson(test::fixture("optimus/schedule.json"));
    QCOMPARE(ref["cases"].size(), size_t{5});
    for (const auto& c : ref["cases"]) {
      const int64_t n = c["n_iter"].get<int64_t>();
      const auto& values = c["values"];
      QCOMPARE(values.size(), static_cast<size_t>(n));
      for (int64_t s = 0; s < n; ++s) {
        const double ours = optimus_beta(s, n, c["n_cycle"].get<int>(), c["ratio_increase"].get<double>(),
                                         c["ratio_zero"].get<double>(), c["stop"].get<double>());
        QVERIFY2(std::abs(ours - values[static_cast<size_t>(s)].get<double>()) < 1e-9,
                 (c.dump().substr(0, 80) + " step " + std::to_string(s)).c_str());
      }
      QCOMPARE(optimus_beta(n + 5, n, 1, 0.5, 0.5, c["stop"].get<double>()), c["stop"].get<double>());  // past the end: stop
    }
    Config c = preset("tiny");
    c.model.posterior = "learned";
    c.model.kl_schedule = "optimus";
    c.model.kl_anneal_steps = 20;
    c.model.kl_cycles = 2;
    c.model.kl_ratio_zero = 0.5;
    c.model.kl_ratio_increase = 0.25;
    QCOMPARE(kl_weight_at(c.model, 7), 0.8);
  }

  // DAVAE's repetition penalty, by hand: a plain greedy loop over the decoder that lowers the
  // logit of every token already in the row (BOS included) by ln(penalty) gives the same ids
  // as the batched, cached decoder (rows finish at different steps); a huge penalty never
  // repeats a token; 1 is off. Paraphrases: k different decodings around mu, reproducible.
  void repetitionPenaltyByHandAndParaphrases() {
    c10::InferenceMode guard;
    Config c = preset("tiny");
    VaeDdpm m = tinyModel(c, 300);
    Generator gen(m, tinyTokenizer());
    torch::manual_seed(4);
    const auto zs = torch::randn({5, c.model.latent_dim}) * 3;
    DecodeOptions o;
    o.max_tokens = 12;
    o.repetition_penalty = 1.7;
    const auto ids = gen.decode_ids(zs, o);
    const SpecialIds sp = m->dec_vocab.ids;
    for (int64_t r = 0; r < zs.size(0); ++r) {
      KVCache cache = m->decoder->start(zs.narrow(0, r, 1), 13);
      std::vector<int> row, seen{sp.bos};
      int64_t next = sp.bos;
      for (int t = 0; t < 12; ++t) {
        auto logits = m->decoder->step(cache, torch::tensor({{next}}, torch::kLong)).select(1, 0)[0].clone();
        for (int s : std::set<int>(seen.begin(), seen.end())) logits[s] -= std::log(1.7);
        next = logits.argmax().item<int64_t>();
        if (next == sp.eos) break;
        row.push_back(static_cast<int>(next));
        seen.push_back(static_cast<int>(next));
      }
      QCOMPARE(ids[static_cast<size_t>(r)], row);
    }
    o.repetition_penalty = 1e6;
    for (const auto& row : gen.decode_ids(zs, o)) QCOMPARE(std::set<int>(row.begin(), row.end()).size(), row.size());
    o.repetition_penalty = 1.0;
    DecodeOptions plain;
    plain.max_tokens = 12;
    QCOMPARE(gen.decode_ids(zs, o), gen.decode_ids(zs, plain));
    o.repetition_penalty = 0;
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { gen.decode_ids(zs, o); }), "repetition penalty");
    const auto a = gen.posterior_samples("the cat sat on the mat", 4, 30.0, 1, plain);
    QCOMPARE(a.size(), size_t(4));
    QCOMPARE(gen.posterior_samples("the cat sat on the mat", 4, 30.0, 1, plain), a);
    QVERIFY(std::set<std::string>(a.begin(), a.end()).size() > 1);
  }

  // The trapezoid schedule, by hand: per cycle zero, a linear rise, a hold, a linear fall.
  void trapezoidScheduleByHand() {
    auto beta = [](int64_t step, int cycles = 1, double down = 0.2) { return trapezoid_beta(step, 100, cycles, 0.2, 0.3, down, 2.0); };
    QCOMPARE(beta(0), 0.0);
    QCOMPARE(beta(19), 0.0);
    QVERIFY(std::abs(beta(35) - 1.0) < 1e-12);  // halfway up: 2 x 15 / 30
    QCOMPARE(beta(50), 2.0);
    QCOMPARE(beta(80), 2.0);                    // the fall starts at 100 - 20
    QVERIFY(std::abs(beta(90) - 1.0) < 1e-12);  // halfway down
    QCOMPARE(beta(100), 0.0);                   // past the end: the end's value
    QCOMPARE(beta(100, 1, 0.0), 2.0);           // no fall: it holds
    QVERIFY(std::abs(beta(70, 2) - 4.0 / 3) < 1e-12);  // second cycle of 50: 10 steps into a 15-step rise
    Config c = preset("tiny");
    c.model.posterior = "learned";
    c.model.kl_schedule = "trapezoid";
    c.model.kl_anneal_steps = 100;
    c.model.kl_ratio_zero = 0.2;
    c.model.kl_ratio_increase = 0.3;
    c.model.kl_ratio_decrease = 0.2;
    c.model.kl_weight = 2.0;
    QVERIFY(std::abs(kl_weight_at(c.model, 90) - 1.0) < 1e-12);
    c.model.posterior = "fixed";  // no KL term: the schedule does not apply
    QCOMPARE(kl_weight_at(c.model, 90), 2.0);
    LATENT_VERIFY_CONTAINS(test::errorOf([] {
      merge_config(preset("tiny"), nlohmann::json::parse(R"({"model": {"kl_schedule": "trapezoid", "kl_ratio_zero": 0.5,
                                                                        "kl_ratio_increase": 0.4, "kl_ratio_decrease": 0.2}})"),
                   "cfg.json");
    }), "cfg.json: model.kl_ratio_decrease");
  }

  // The KL modes and the length weighting, against the formulas on the model's own
  // posterior: full KL; Optimus's / DAVAE's mask (dim_target_kl); Kingma's floor; the
  // deterministic posterior (logvar 0: KL = |mu|^2 / 2); rec divided by BOS..EOS or not.
  void klModesAndLengthWeightingByHand() {
    Config c = preset("tiny");
    c.model.alpha_ddpm = 0;
    c.model.posterior = "learned";
    VaeDdpm m = tinyModel(c, 300);
    {
      torch::NoGradGuard g;  // a posterior with KL of order 1 per dimension, spread out
      m->encoder->linear->weight.normal_(0, 1);
    }
    const Batch b{torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}}, torch::kLong),
                  torch::tensor({{2, 10, 11, 13, 3}, {2, 12, 3, 0, 0}}, torch::kLong)};
    const auto len = torch::tensor({5.0, 3.0});
    const double w = 0.7;
    auto run = [&] { return m->forward(b, at::make_generator<at::CPUGeneratorImpl>(5), w); };
    torch::NoGradGuard g;
    const EncoderOutput post = m->posterior(b.enc_ids);
    const auto kl = 0.5 * (post.mu.pow(2) + post.logvar.exp() - post.logvar - 1);  // (B, D)
    auto close = [](const at::Tensor& a, const at::Tensor& e) { return (a - e).abs().max().item<double>() < 1e-4; };

    const LossOutput full = run();
    QVERIFY(close(full.kl, kl.sum(1)));
    QVERIFY(close(full.vae, full.rec / len + w * kl.sum(1)));
    const double lambda = kl.flatten().median().item<double>();
    m->config.free_bits = lambda;
    m->config.free_bits_mode = "mask";
    QVERIFY(close(run().vae, full.rec / len + w * (kl * kl.gt(lambda)).sum(1)));
    m->config.free_bits_mode = "floor";
    QVERIFY(close(run().vae, full.rec / len + w * kl.mean(0).clamp_min(lambda).sum()));
    m->config.free_bits = 0;
    m->config.length_weighted_loss = false;
    QVERIFY(close(run().vae, full.rec + w * kl.sum(1)));
    m->config.posterior = "deterministic";
    const LossOutput det = run();
    QVERIFY(close(m->posterior(b.enc_ids).logvar, torch::zeros_like(post.mu)));
    QVERIFY(close(det.kl, 0.5 * post.mu.pow(2).sum(1)));
    m->config.posterior = "fixed";  // DMLP: no KL term
    QVERIFY(close(run().vae, run().rec));
  }

  // DAVAE's input noise: in training, N(0, s^2) of the global generator's next draw added to
  // the embeddings after their LayerNorm (recomputed here from BERT's modules); none in eval.
  void embeddingNoiseIsAddedWhileTraining() {
    EncoderConfig c = preset("tiny").model.encoder;
    c.dropout = 0;
    c.embedding_noise = 0.5;
    torch::manual_seed(1);
    Encoder e = encoder_family("bert", "t").make(c, VocabSpec{300, SpecialIds{0, 1, 2, 3}}, 8);
    auto* bert = dynamic_cast<BertEncoderImpl*>(e.get());
    QVERIFY(bert);
    torch::NoGradGuard g;
    const auto ids = torch::tensor({{2, 10, 11, 12, 3}}, torch::kLong);
    const auto key_mask = ids.ne(0).unsqueeze(1).unsqueeze(1);
    auto by_hand = [&](const at::Tensor& noise) {
      auto x = bert->emb_norm(bert->word(ids) + bert->position(torch::arange(5)).unsqueeze(0) + bert->token_type(torch::zeros_like(ids)));
      x = x + noise;
      for (auto& layer : bert->layers) x = layer(x, key_mask);
      return x;
    };
    e->eval();
    QVERIFY((e->hidden_states(ids) - by_hand(torch::zeros({1, 5, c.hidden}))).abs().max().item<double>() < 1e-5);
    e->train();
    torch::manual_seed(9);
    const auto noisy = e->hidden_states(ids);
    torch::manual_seed(9);
    const auto noise = torch::randn({1, 5, c.hidden}) * 0.5;
    QVERIFY((noisy - by_hand(noise)).abs().max().item<double>() < 1e-5);
    QVERIFY((noisy - by_hand(torch::zeros({1, 5, c.hidden}))).abs().max().item<double>() > 1e-2);
    LATENT_VERIFY_CONTAINS(test::errorOf([] {
      merge_config(preset("tiny"), nlohmann::json::parse(R"({"model": {"encoder": {"embedding_noise": -1}}})"), "cfg.json");
    }), "model.encoder.embedding_noise");
  }

  // DAVAE's latent after every layer: with blocks made the identity (their output
  // projections zeroed), the residual stream is embeddings + (blocks + 1) x linear_emb(z), so
  // the logits are final_norm(that) x the tied embedding; with real blocks, the KV cache
  // still equals recomputation.
  void latentAfterEveryLayerByHand() {
    for (const std::string arch : {"gpt2", "llama"}) {
      DecoderConfig c = with_decoder_arch(preset("tiny").model.decoder, arch, "t");
      c.layers = 2;
      c.latent_as_memory = false;
      c.latent_every_layer = true;
      torch::manual_seed(3);
      Decoder d = decoder_family(arch, "t").make(c, VocabSpec{300, {}}, 8);
      d->eval();
      torch::NoGradGuard g;
      const auto ids = torch::tensor({{2, 10, 11, 12}}, torch::kLong);
      const auto z = torch::randn({1, 8});
      const auto full = d->forward(ids, z);
      KVCache cache = d->start(z, 4);
      for (int64_t t = 0; t < 4; ++t)
        QVERIFY2(torch::allclose(d->step(cache, ids.narrow(1, t, 1)).select(1, 0), full.select(1, t), 1e-5, 1e-5), arch.c_str());
      auto p = d->named_parameters();
      for (auto& kv : p)
        if (kv.key().find("c_proj") != std::string::npos || kv.key().find("o_proj") != std::string::npos ||
            kv.key().find("down_proj") != std::string::npos)
          kv.value().zero_();
      const int blocks = d->num_blocks();
      QVERIFY(blocks >= 2);
      at::Tensor expected;
      if (arch == "gpt2") {
        const auto e = torch::matmul(z, p["transformer.linear_emb.weight"].t());
        const auto x = p["transformer.wte.weight"].index_select(0, ids[0]) + p["transformer.wpe.weight"].narrow(0, 0, 4) +
                       (blocks + 1) * e;
        const auto h = torch::layer_norm(x, {c.hidden}, p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], 1e-5);
        expected = torch::matmul(h, p["transformer.wte.weight"].t()).unsqueeze(0);
      } else {
        const auto e = torch::matmul(z, p["model.linear_emb.weight"].t());
        const auto x = p["model.embed_tokens.weight"].index_select(0, ids[0]) + (blocks + 1) * e;
        const auto h = x * torch::rsqrt(x.pow(2).mean(-1, true) + c.rms_norm_eps) * p["model.norm.weight"];
        expected = torch::matmul(h, p["model.embed_tokens.weight"].t()).unsqueeze(0);
      }
      const double diff = (d->forward(ids, z) - expected).abs().max().item<double>();
      QVERIFY2(diff < 1e-4, (arch + " " + std::to_string(diff)).c_str());
    }
    LATENT_VERIFY_CONTAINS(test::errorOf([] {
      merge_config(preset("tiny"), nlohmann::json::parse(R"({"model": {"decoder": {"latent_every_layer": true,
                                                                                      "latent_as_embedding": false}}})"), "cfg.json");
    }), "model.decoder.latent_every_layer");
  }
};

QTEST_GUILESS_MAIN(TestDesigns)
#include "test_designs.moc"
