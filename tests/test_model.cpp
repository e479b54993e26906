// The VAE_DDPM model: configuration, parameter names, the latent memory slot and
// position ids, KV-cached decoding against full recomputation, save/load.
#include <torch/torch.h>

#include <QTemporaryDir>

#include "bench/benchmarks.h"
#include "infer/generator.h"
#include "text/tokenizer.h"
#include "io/model_dir.h"
#include "model/attention.h"
#include "model/config.h"
#include "model/families/bert.h"
#include "model/family.h"
#include "model/model_io.h"
#include "model/vae_ddpm.h"
#include "model_fixtures.h"
#include "test_util.h"

using namespace latent;

using test::hasParam;
using test::tinyModel;
using test::tinyTokenizer;

class TestModel : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void presetsAndJsonRoundTrip() {
    for (const auto& name : preset_names()) {
      const Config c = preset(name);
      const auto j = config_to_json(c);
      QCOMPARE(j["format_version"].get<int>(), 1);
      QCOMPARE(config_to_json(config_from_json(j, "x")), j);
    }
    const Config small = preset("small");
    VaeDdpm m(small.model, small.model.tokenizer.vocab_size);
    int64_t n = 0;
    for (const auto& p : m->parameters()) n += p.numel();
    // 2 x 128 encoder and decoder, MLPSkipNet 6 x 512: the shapes that train to good held-out
    // reconstructions within 30 minutes on 2 cores (config.cpp, MODEL_CARD.md).
    QVERIFY2(n > 3'000'000 && n < 4'500'000, std::to_string(n).c_str());
  }

  void badConfigsNameTheKey_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("expected");
    QTest::newRow("unknown key") << R"({"model": {"encoder": {"hiden": 3}}})" << "cfg.json: model.encoder.hiden: unknown key";
    QTest::newRow("wrong type") << R"({"model": {"latent_dim": "64"}})" << "cfg.json: model.latent_dim: must be an integer";
    QTest::newRow("negative size") << R"({"model": {"decoder": {"layers": -2}}})" << "cfg.json: model.decoder.layers: must be positive";
    QTest::newRow("bad enum") << R"({"model": {"posterior": "maybe"}})" << "cfg.json: model.posterior: must be one of fixed, learned, deterministic";
    QTest::newRow("bool") << R"({"model": {"decoder": {"latent_as_memory": 1}}})" << "model.decoder.latent_as_memory: must be true or false";
    QTest::newRow("heads") << R"({"model": {"encoder": {"heads": 3}}})" << "model.encoder.heads: must divide";
    QTest::newRow("top unknown") << R"({"trian": {}})" << "cfg.json: trian: unknown key";
    QTest::newRow("section type") << R"({"train": 5})" << "cfg.json: train: must be an object";
    QTest::newRow("negative seed") << R"({"train": {"seed": -1}})" << "train.seed: must not be negative";
  }
  void badConfigsNameTheKey() {
    QFETCH(QString, json);
    QFETCH(QString, expected);
    const std::string err = test::errorOf([&] { config_from_json(nlohmann::json::parse(json.toStdString()), "cfg.json"); });
    LATENT_VERIFY_CONTAINS(err, expected.toStdString());
  }

  void huggingFaceStyleNames() {
    const Config c = preset("tiny");
    VaeDdpm m = tinyModel(c, 300);
    for (const char* name : {"encoder.embeddings.word_embeddings.weight", "encoder.embeddings.LayerNorm.weight",
                             "encoder.encoder.layer.0.attention.self.query.weight",
                             "encoder.encoder.layer.1.output.LayerNorm.bias", "encoder.pooler.dense.weight",
                             "encoder.linear.weight", "decoder.transformer.wte.weight", "decoder.transformer.wpe.weight",
                             "decoder.transformer.h.0.attn.c_attn.weight", "decoder.transformer.h.1.mlp.c_proj.bias",
                             "decoder.transformer.ln_f.weight", "decoder.transformer.linear.weight",
                             "decoder.transformer.linear_emb.weight", "eps_model.layers.0.linear.weight"})
      QVERIFY2(hasParam(*m, name), name);
    QVERIFY(!hasParam(*m, "decoder.lm_head.weight"));  // tied to wte
    QCOMPARE(m->decoder->num_blocks(), c.model.decoder.layers + 1);  // the "New" variant's extra first block
    QVERIFY(!hasParam(*m, "encoder.linear.bias"));
    QCOMPARE(m->encoder->linear->weight.size(0), int64_t(2 * c.model.latent_dim));
    QVERIFY(VaeDdpmImpl::dmlp_trainable("decoder.transformer.h.0.attn.c_attn.weight"));
    QVERIFY(VaeDdpmImpl::dmlp_trainable("decoder.transformer.wte.weight"));
    QVERIFY(VaeDdpmImpl::dmlp_trainable("encoder.encoder.layer.0.output.dense.weight"));
    QVERIFY(VaeDdpmImpl::dmlp_trainable("eps_model.time_embed.0.weight"));
    QVERIFY(!VaeDdpmImpl::dmlp_trainable("decoder.transformer.h.1.attn.c_attn.weight"));
    QVERIFY(!VaeDdpmImpl::dmlp_trainable("decoder.transformer.ln_f.weight"));
  }

  // The latent memory is one extra key/value every token attends to; without it
  // (and without the embedding path) the latent cannot reach the output.
  void memorySlotAndPositions() {
    torch::NoGradGuard g;
    Config c = preset("tiny");
    c.model.decoder.latent_as_embedding = false;
    VaeDdpm m = tinyModel(c, 300);
    const auto ids = torch::tensor({{2, 10, 11, 12}}, torch::kLong);
    const auto z = torch::randn({1, c.model.latent_dim});
    const auto base = m->decoder->forward(ids, z);
    QVERIFY(!torch::allclose(base, m->decoder->forward(ids, z * 3.0)));  // z matters
    m->decoder->named_parameters()["transformer.linear.weight"].zero_();                                 // memory slot carries nothing now
    QVERIFY(!torch::allclose(base, m->decoder->forward(ids, z)));
    QVERIFY(torch::allclose(m->decoder->forward(ids, z), m->decoder->forward(ids, z * 3.0)));

    // Position ids of real tokens start at 1: row 0 of wpe is never used with memory...
    VaeDdpm m2 = tinyModel(c, 300);
    const auto before = m2->decoder->forward(ids, z);
    m2->decoder->named_parameters()["transformer.wpe.weight"][0].fill_(100.0);
    QVERIFY(torch::allclose(before, m2->decoder->forward(ids, z)));
    // ...and row L (the last real token's position) is.
    m2->decoder->named_parameters()["transformer.wpe.weight"][ids.size(1)].fill_(100.0);
    QVERIFY(!torch::allclose(before, m2->decoder->forward(ids, z)));
    // Without the memory slot, positions start at 0.
    c.model.decoder.latent_as_memory = false;
    c.model.decoder.latent_as_embedding = true;
    VaeDdpm m3 = tinyModel(c, 300);
    const auto plain = m3->decoder->forward(ids, z);
    m3->decoder->named_parameters()["transformer.wpe.weight"][0].fill_(100.0);
    QVERIFY(!torch::allclose(plain, m3->decoder->forward(ids, z)));
  }

  void fusedAttentionEqualsReference() {
    torch::NoGradGuard g;
    const Config c = preset("tiny");
    VaeDdpm m = tinyModel(c, 300);
    const auto ids = torch::tensor({{2, 10, 11, 12, 3, 0}, {2, 20, 3, 0, 0, 0}}, torch::kLong);
    const auto z = torch::randn({2, c.model.latent_dim});
    const auto fused_dec = m->decoder->forward(ids, z);
    const auto fused_enc = m->encoder->forward(ids).mu;
    set_reference_attention(true);
    const auto ref_dec = m->decoder->forward(ids, z);
    const auto ref_enc = m->encoder->forward(ids).mu;
    set_reference_attention(false);
    QVERIFY((fused_dec - ref_dec).abs().max().item<double>() < 1e-5);
    QVERIFY((fused_enc - ref_enc).abs().max().item<double>() < 1e-5);
    // Padding does not leak into the encoding: the same sentence alone gives the same mu.
    const auto alone = m->encoder->forward(ids.narrow(0, 1, 1).narrow(1, 0, 3)).mu;
    QVERIFY((alone - fused_enc.narrow(0, 1, 1)).abs().max().item<double>() < 1e-5);
  }

  // Each new token costs one step with the cache; the logits equal a full re-run.
  void kvCacheEqualsRecomputation() {
    c10::InferenceMode guard;
    Config c = preset("tiny");
    VaeDdpm m = tinyModel(c, 300);
    const auto z = torch::randn({3, c.model.latent_dim});
    const auto ids = torch::randint(4, 300, {3, 12}, torch::kLong);
    const auto full = m->decoder->forward(ids, z);  // (3, 12, V)
    KVCache cache = m->decoder->start(z, 12);
    for (int t = 0; t < 12; ++t) {
      const auto step = m->decoder->step(cache, ids.narrow(1, t, 1));
      QVERIFY2((step.select(1, 0) - full.select(1, t)).abs().max().item<double>() < 1e-5, std::to_string(t).c_str());
    }
    // A chunk after a cached prefix (lower-right causal mask) agrees too.
    KVCache c2 = m->decoder->start(z, 12);
    m->decoder->step(c2, ids.narrow(1, 0, 5));
    const auto rest = m->decoder->step(c2, ids.narrow(1, 5, 7));
    QVERIFY((rest - full.narrow(1, 5, 7)).abs().max().item<double>() < 1e-5);

    Generator gen(m, tinyTokenizer());
    const auto zs = torch::randn({6, c.model.latent_dim}) * 2;
    const auto cached = gen.decode_ids(zs, DecodeOptions{});
    const auto uncached = gen.decode_ids_uncached(zs, gen.max_tokens());
    QCOMPARE(cached, uncached);
    size_t tokens = 0;
    for (const auto& s : cached) tokens += s.size();
    QVERIFY(tokens > 0);
    // Fixed length (benchmarks): EOS is an ordinary token, both paths give max_tokens each.
    DecodeOptions fixed;
    fixed.max_tokens = 9;
    fixed.stop_at_eos = false;
    const auto a = gen.decode_ids(zs, fixed), b = gen.decode_ids_uncached(zs, 9, /*stop_at_eos=*/false);
    QCOMPARE(a, b);
    for (const auto& s : a) QCOMPARE(s.size(), size_t(9));
  }

  void benchStatistics() {
    const auto s = bench::summarize({5, 1, 4, 2, 3});
    QCOMPARE(s.median, 3.0);
    QCOMPARE(s.min, 1.0);
    QCOMPARE(s.max, 5.0);
    QCOMPARE(s.p95, 5.0);  // nearest rank: ceil(0.95 * 5) = 5th of 5
    QCOMPARE(bench::summarize({4, 1, 3, 2}).median, 2.5);
    std::vector<double> hundred;
    for (int i = 1; i <= 100; ++i) hundred.push_back(i);
    QCOMPARE(bench::summarize(hundred).p95, 95.0);
    QCOMPARE(bench::summarize({}).n, 0);
  }

  void saveLoadIdenticalAndDamagedFails() {
    QTemporaryDir dir;
    const Config c = preset("tiny");
    const Tokenizer tok = tinyTokenizer();
    VaeDdpm m = tinyModel(c, tok.vocab_size());
    const std::string path = dir.filePath("model").toStdString();
    save_model(path, c, tok, m);
    LoadedModel lm = load_model(path);
    c10::InferenceMode guard;
    const auto ids = torch::tensor({{2, 10, 11, 3}}, torch::kLong);
    const auto z = torch::randn({1, c.model.latent_dim});
    QVERIFY(torch::equal(m->decoder->forward(ids, z), lm.model->decoder->forward(ids, z)));
    QVERIFY(torch::equal(m->encoder->forward(ids).mu, lm.model->encoder->forward(ids).mu));
    QCOMPARE(config_to_json(lm.config), config_to_json(c));

    const std::string w = io::join(path, io::files::kWeights);
    const std::string bytes = test::slurp(w);
    test::spit(w, bytes.substr(0, bytes.size() / 2));
    std::string err = test::errorOf([&] { load_model(path); });
    LATENT_VERIFY_CONTAINS(err, w);
    LATENT_VERIFY_CONTAINS(err, "truncated");
    // A config that does not match the weights names the tensors.
    test::spit(w, bytes);
    auto j = config_to_json(c);
    j["model"]["latent_dim"] = 8;
    io::write_json_file(io::join(path, io::files::kConfig), j);
    err = test::errorOf([&] { load_model(path); });
    LATENT_VERIFY_CONTAINS(err, "do not match config.json");
    LATENT_VERIFY_CONTAINS(err, "encoder.linear.weight");
  }

  void jointLossIsFiniteAndDifferentiable() {
    const Config c = preset("tiny");
    VaeDdpm m = tinyModel(c, 300);
    m->train();
    Batch b{torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}}, torch::kLong), torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}}, torch::kLong)};
    const LossOutput out = m->forward(b, at::Generator());
    QVERIFY(std::isfinite(out.loss.item<double>()));
    QCOMPARE(out.rec.size(0), int64_t(2));
    out.loss.backward();
    QVERIFY(m->encoder->linear->weight.grad().abs().sum().item<double>() > 0);     // through z and the diffusion loss
    QVERIFY(m->decoder->named_parameters()["transformer.wte.weight"].grad().abs().sum().item<double>() > 0);
  }

};

QTEST_GUILESS_MAIN(TestModel)
#include "test_model.moc"
