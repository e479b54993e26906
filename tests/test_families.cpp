// The model-family registry (model/family.h): every registered family builds, round-trips
// its defaults through config.json, loads a Hugging Face folder of its kind by name;
// config.json names families by arch (a new arch takes its family's defaults, old folders
// without arch stay BERT + GPT-2); unknown names fail naming the key and the choices; and
// the real `latent-cli models` lists exactly the registered families.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "model/config.h"
#include "model/family.h"
#include "model/model_io.h"
#include "test_util.h"

using namespace latent;

class TestFamilies : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void everyFamilyBuildsAndRoundTrips() {
    QVERIFY(encoder_families().size() >= 2);
    for (const EncoderFamily* f : encoder_families()) {
      QVERIFY(!f->hf_model_types.empty());
      QVERIFY(!f->tokenizer.empty());
      Config c = preset("tiny");
      c.model.encoder = with_encoder_arch(c.model.encoder, f->name, "test");
      QCOMPARE(c.model.encoder.arch, f->name);
      const Config back = config_from_json(config_to_json(c), "roundtrip");
      QCOMPARE(back.model.encoder.arch, f->name);
      QCOMPARE(back.model.encoder.layer_norm_eps, f->defaults.layer_norm_eps);
      QCOMPARE(back.model.encoder.hidden, c.model.encoder.hidden);  // shapes kept across the switch
      Encoder e = f->make(back.model.encoder, VocabSpec{300, SpecialIds{1, 3, 0, 2}}, 8);
      e->eval();
      torch::NoGradGuard g;
      const auto ids = torch::tensor({{0, 10, 11, 2}, {0, 12, 2, 1}}, torch::kLong);
      const auto out = e->forward(ids);
      QCOMPARE(out.mu.sizes(), (c10::IntArrayRef{2, 8}));
      // Padding does not leak into a sentence's mu.
      const auto alone = e->forward(ids.narrow(0, 1, 1).narrow(1, 0, 3)).mu;
      QVERIFY2(torch::allclose(alone, out.mu.narrow(0, 1, 1), 1e-5, 1e-5), f->name.c_str());
    }
    QVERIFY(!decoder_families().empty());
    for (const DecoderFamily* f : decoder_families()) {
      Config c = preset("tiny");
      c.model.decoder = with_decoder_arch(c.model.decoder, f->name, "test");
      const Config back = config_from_json(config_to_json(c), "roundtrip");
      QCOMPARE(back.model.decoder.arch, f->name);
      Decoder d = f->make(back.model.decoder, VocabSpec{300, {}}, 8);
      d->eval();
      torch::NoGradGuard g;
      const auto ids = torch::tensor({{2, 10, 11, 12, 13}}, torch::kLong);
      const auto z = torch::randn({1, 8});
      const auto full = d->forward(ids, z);  // (1, 5, V)
      // Cached decoding, one token at a time, equals the full recomputation.
      KVCache cache = d->start(z, 5);
      for (int64_t t = 0; t < 5; ++t) {
        const auto step = d->step(cache, ids.narrow(1, t, 1));
        QVERIFY2(torch::allclose(step.select(1, 0), full.select(1, t), 1e-5, 1e-5), f->name.c_str());
      }
    }
  }

  // DMLP's *New encoders: one more layer on the pretrained one's output, which runs
  // without gradient (DMLP's torch.no_grad); New2's extra decoder block is 12 x hidden wide.
  void dmlpNewVariants() {
    for (const char* arch : {"bert", "roberta"}) {
      EncoderConfig c = with_encoder_arch(preset("tiny").model.encoder, arch, "test");
      c.extra_layer = true;
      Encoder e = encoder_family(arch, "test").make(c, VocabSpec{300, SpecialIds{1, 3, 0, 2}}, 8);
      auto params = e->named_parameters();
      QVERIFY(params.contains("linear_forbert.attention.self.query.weight"));
      const auto ids = torch::tensor({{0, 10, 11, 2}, {0, 12, 2, 1}}, torch::kLong);
      e->forward(ids).mu.sum().backward();
      QVERIFY2(!params["encoder.layer.0.attention.self.query.weight"].grad().defined(), arch);
      QVERIFY2(!params["embeddings.word_embeddings.weight"].grad().defined(), arch);
      QVERIFY(params["linear_forbert.output.dense.weight"].grad().abs().sum().item<double>() > 0);
      QVERIFY(params["pooler.dense.weight"].grad().defined());
    }
    {  // DeBERTa's New: the same, but the shared relative embeddings train through the extra
       // layer, which reads them outside no_grad (as DMLP's DebertaForLatentConnectorNew does).
      const EncoderClass dn = encoder_class_for_dmlp("DebertaForLatentConnectorNew", "test");
      EncoderConfig c = merge_encoder_config(with_encoder_arch(preset("tiny").model.encoder, "deberta", "test"),
                                             nlohmann::json::parse(dn.dmlp->overrides), "t");
      QVERIFY(c.extra_layer && c.pooling == "avg");
      Encoder e = dn.family->make(c, VocabSpec{300, SpecialIds{1, 3, 0, 2}}, 8);
      auto params = e->named_parameters();
      const auto ids = torch::tensor({{0, 10, 11, 2}, {0, 12, 2, 1}}, torch::kLong);
      e->forward(ids).mu.sum().backward();
      QVERIFY(!params["encoder.layer.0.attention.self.in_proj.weight"].grad().defined());
      QVERIFY(!params["embeddings.word_embeddings.weight"].grad().defined());
      QVERIFY(params["encoder.rel_embeddings.weight"].grad().abs().sum().item<double>() > 0);
      QVERIFY(params["linear_forbert.attention.self.pos_q_proj.weight"].grad().abs().sum().item<double>() > 0);
    }
    const DecoderClass new2 = decoder_class_for_dmlp("GPT2ForLatentConnectorNew2", "test");
    DecoderConfig dc = merge_decoder_config(preset("tiny").model.decoder, nlohmann::json::parse(new2.dmlp->overrides), "t");
    Decoder d = new2.family->make(dc, VocabSpec{300, {}}, 8);
    auto dp = d->named_parameters();
    QCOMPARE(dp["transformer.h.0.mlp.c_fc.weight"].size(0), int64_t(12 * dc.hidden));
    QCOMPARE(dp["transformer.h.1.mlp.c_fc.weight"].size(0), int64_t(4 * dc.hidden));
  }

  void configNamesTheFamily() {
    // A folder of format 1 without arch: BERT + GPT-2, as before the registry.
    const Config old = config_from_json(nlohmann::json::parse(R"({"model": {"encoder": {"hidden": 32, "heads": 4}}})"), "old");
    QCOMPARE(old.model.encoder.arch, std::string("bert"));
    QCOMPARE(old.model.decoder.arch, std::string("gpt2"));
    QCOMPARE(old.model.encoder.layer_norm_eps, 1e-12);
    // arch switches to the family's own defaults; keys given with it still win.
    const Config r = merge_config(preset("tiny"), nlohmann::json::parse(
        R"({"model": {"encoder": {"type_vocab": 3, "arch": "roberta"}}})"), "cfg.json");
    QCOMPARE(r.model.encoder.arch, std::string("roberta"));
    QCOMPARE(r.model.encoder.layer_norm_eps, 1e-5);
    QCOMPARE(r.model.encoder.type_vocab, 3);
    QCOMPARE(r.model.encoder.hidden, preset("tiny").model.encoder.hidden);
    // RoBERTa's positions start after padding_idx: max_length must leave room.
    LATENT_VERIFY_CONTAINS(test::errorOf([&] {
      merge_config(preset("tiny"), nlohmann::json::parse(
          R"({"model": {"max_length": 60, "encoder": {"arch": "roberta", "max_positions": 63}}})"), "cfg.json");
    }), "model.max_length");
  }

  void unknownNamesSayWhatExists() {
    const std::string e = test::errorOf([] {
      config_from_json(nlohmann::json::parse(R"({"model": {"encoder": {"arch": "robrta"}}})"), "cfg.json");
    });
    LATENT_VERIFY_CONTAINS(e, "cfg.json: model.encoder.arch");
    LATENT_VERIFY_CONTAINS(e, "\"robrta\" is not a registered encoder family");
    LATENT_VERIFY_CONTAINS(e, "albert, bert, deberta, roberta, t5");
    LATENT_VERIFY_CONTAINS(test::errorOf([] {
      config_from_json(nlohmann::json::parse(R"({"model": {"decoder": {"arch": 3}}})"), "cfg.json");
    }), "model.decoder.arch: must be a string");
    LATENT_VERIFY_CONTAINS(test::errorOf([] { decoder_family("bert", "where"); }), "not a registered decoder family");
    LATENT_VERIFY_CONTAINS(test::errorOf([] { encoder_family_for_hf("gpt2", "x/config.json: model_type"); }),
                           "x/config.json: model_type: model_type \"gpt2\" is not supported as the encoder");
    const std::string c = test::errorOf([] { encoder_class_for_dmlp("XLNetForLatentConnector", "dmlp.json: encoder.class"); });
    LATENT_VERIFY_CONTAINS(c, "dmlp.json: encoder.class");
    LATENT_VERIFY_CONTAINS(c, "BertForLatentConnectorAVG");
    // DMLP classes map to a family and its settings.
    const EncoderClass ec = encoder_class_for_dmlp("BertForLatentConnector", "t");
    QCOMPARE(ec.family->name, std::string("bert"));
    QCOMPARE(merge_encoder_config(ec.family->defaults, nlohmann::json::parse(ec.dmlp->overrides), "t").pooling, std::string("cls"));
    QCOMPARE(encoder_class_for_dmlp("RobertaForLatentConnector", "t").family->name, std::string("roberta"));
    const DecoderClass dc = decoder_class_for_dmlp("GPT2ForLatentConnector", "t");
    QVERIFY(!merge_decoder_config(dc.family->defaults, nlohmann::json::parse(dc.dmlp->overrides), "t").extra_first_block);
  }

  // No setting is silently ignored: a family rejects the keys it does not read and the
  // values it cannot honour (some would index out of range: T5's bucket arithmetic).
  void familiesRejectWhatTheyDoNotRead() {
    auto error = [](const char* json) {
      return test::errorOf([&] { merge_config(preset("tiny"), nlohmann::json::parse(json), "cfg.json"); });
    };
    LATENT_VERIFY_CONTAINS(error(R"({"model": {"encoder": {"embedding_size": 32}}})"),
                           "cfg.json: model.encoder: embedding_size: the bert family has no such setting");
    LATENT_VERIFY_CONTAINS(error(R"({"model": {"encoder": {"arch": "t5", "activation": "gelu"}}})"),
                           "model.encoder: activation: T5's feed-forward is \"relu\" or \"gated-gelu\"");
    LATENT_VERIFY_CONTAINS(error(R"({"model": {"encoder": {"arch": "t5", "relative_buckets": 2}}})"), "relative_buckets");
    LATENT_VERIFY_CONTAINS(error(R"({"model": {"encoder": {"arch": "t5", "relative_max_distance": 8}}})"),
                           "relative_max_distance: must be above relative_buckets / 4 (8)");
    LATENT_VERIFY_CONTAINS(error(R"({"model": {"encoder": {"arch": "albert", "layer_groups": 3}}})"), "layer_groups: must divide");
    LATENT_VERIFY_CONTAINS(error(R"({"model": {"encoder": {"arch": "roberta", "extra_layer": true, "head_dim": 8}}})"),
                           "head_dim: the roberta family has no such setting");
    LATENT_VERIFY_CONTAINS(error(R"({"model": {"decoder": {"extra_block_mlp_ratio": 1000}}})"), "extra_block_mlp_ratio");
    LATENT_VERIFY_CONTAINS(error(R"({"model": {"encoder": {"relative_attention": "c2p"}}})"),
                           "relative_attention: the bert family has no such setting");
    LATENT_VERIFY_CONTAINS(error(R"({"model": {"encoder": {"type_vocab": 0}}})"),
                           "type_vocab: the bert family needs at least one token type");
    LATENT_VERIFY_CONTAINS(error(R"({"model": {"encoder": {"arch": "deberta", "relative_attention": "p2p"}}})"),
                           "relative_attention");
    // RoBERTa numbers positions from its pad id + 1, with 2 ids reserved.
    LATENT_VERIFY_CONTAINS(test::errorOf([] {
      encoder_family("roberta", "t").make(with_encoder_arch(preset("tiny").model.encoder, "roberta", "t"),
                                          VocabSpec{300, SpecialIds{3, 1, 0, 2}}, 8);
    }), "the pad id must be 0 or 1");
    // BERT-like layers honour the tanh GELU when asked.
    Config c = merge_config(preset("tiny"), nlohmann::json::parse(R"({"model": {"encoder": {"activation": "gelu_new"}}})"), "t");
    torch::manual_seed(0);
    Encoder a = encoder_family("bert", "t").make(c.model.encoder, VocabSpec{300, {}}, 8);
    torch::manual_seed(0);
    Encoder b = encoder_family("bert", "t").make(preset("tiny").model.encoder, VocabSpec{300, {}}, 8);
    torch::NoGradGuard g;
    for (Encoder* e : {&a, &b})  // pre-activations of order 1, where the two GELUs differ
      (*e)->named_parameters()["encoder.layer.0.intermediate.dense.weight"].mul_(50);
    const auto ids = torch::tensor({{2, 10, 11, 3}}, torch::kLong);
    const double diff = (a->hidden_states(ids) - b->hidden_states(ids)).abs().max().item<double>();
    QVERIFY2(diff > 1e-5, std::to_string(diff).c_str());
  }

  void cliListsExactlyTheRegisteredFamilies() {
    const auto r = test::cli({"models", "--json"});
    QCOMPARE(r.code, 0);
    const auto j = nlohmann::json::parse(r.out);
    std::vector<std::string> enc, dec, want_enc, want_dec;
    for (const auto& f : j["encoders"]) enc.push_back(f["name"]);
    for (const auto& f : j["decoders"]) dec.push_back(f["name"]);
    for (const auto* f : encoder_families()) want_enc.push_back(f->name);
    for (const auto* f : decoder_families()) want_dec.push_back(f->name);
    QCOMPARE(enc, want_enc);
    QCOMPARE(dec, want_dec);
    for (const auto& f : j["encoders"])
      if (f["name"] == "roberta") QCOMPARE(f["dmlp_classes"][0]["name"].get<std::string>(), std::string("RobertaForLatentConnector"));
    const auto text = test::cli({"models"});
    QCOMPARE(text.code, 0);
    LATENT_VERIFY_CONTAINS(text.out, "BertForLatentConnectorAVG");
    LATENT_VERIFY_CONTAINS(text.out, "hf model_type: roberta");
  }
};

QTEST_GUILESS_MAIN(TestFamilies)
#include "test_families.moc"
