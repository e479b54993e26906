// Pretrained parts: a model whose encoder and decoder use different tokenizers (BERT's
// WordPiece, GPT-2's BPE with DMLP's added tokens), built by `latent-cli import-hf` from
// Hugging Face folders, saved and reloaded, trained the DMLP way (only DMLP's trainable
// names move), and a DMLP-trained checkpoint imported by `latent-cli import-dmlp` whose
// mu, decoder logits and noise predictions equal what the real dmlp package computed.
// Fixtures: tests/fixtures/dmlp/make_trained_fixture.py (tiny HF folders, a VAE_DDPM
// trained 5 steps with pip dmlp, saved by DMLP, converted by tools/dmlp/convert_checkpoint.py).
#include <torch/torch.h>

#include <filesystem>
#include <functional>

#include "infer/generator.h"
#include "io/safetensors.h"
#include "model/model_io.h"
#include "model/pretrained.h"
#include "test_util.h"
#include "text/tokenizer.h"
#include "train/data.h"
#include "util/atomic_file.h"

using namespace latent;
namespace fs = std::filesystem;

namespace {

QString fx(const std::string& rel) { return QString::fromStdString(test::fixture(rel)); }
const std::string kBert = "dmlp/trained/bert", kGpt2 = "dmlp/trained/gpt2";

std::vector<std::string> sentences() { return test::readJson(test::fixture("dmlp/trained/sentences.json")).get<std::vector<std::string>>(); }

// Row i of a padded id matrix without its padding.
std::vector<int> row(const at::Tensor& ids, int64_t i, int64_t pad) {
  std::vector<int> out;
  for (int64_t j = 0; j < ids.size(1); ++j)
    if (ids[i][j].item<int64_t>() != pad) out.push_back(static_cast<int>(ids[i][j].item<int64_t>()));
  return out;
}

double maxDiff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

std::map<std::string, at::Tensor> weights(const std::string& dir) {
  std::map<std::string, at::Tensor> m;
  for (auto& [k, v] : io::load(dir + "/model.safetensors")) m.emplace(k, v);
  return m;
}

}  // namespace

class TestImport : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  std::string dir(const std::string& name) { return tmp_.filePath(QString::fromStdString(name)).toStdString(); }

 private Q_SLOTS:
  // Every slot below works on this imported model (and the corpus), so each can run alone.
  void initTestCase() {
    const test::CliRun r = test::cli({"import-hf", "--encoder", fx(kBert), "--decoder", fx(kGpt2), "--out",
                                      QString::fromStdString(dir("hf")), "--preset", "tiny", "--latent", "8", "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    QCOMPARE(nlohmann::json::parse(r.out)["tokenizers"].get<std::string>(),
             std::string("encoder wordpiece, 379 tokens; decoder gpt2-bpe, 703 tokens"));
    std::string text;
    const auto s = sentences();
    for (int i = 0; i < 40; ++i) text += s[static_cast<size_t>(i) % s.size()] + " " + std::to_string(i) + "\n";
    test::spit(dir("corpus.txt"), text);
  }

  // The encoder family comes from the folder's model_type: a RoBERTa folder gives the
  // roberta family with RoBERTa's tokenizer, saved and read back as such, its weights
  // copied by name; a folder no encoder family reads is refused before anything is written.
  void importHfPicksTheFamilyByModelType() {
    const std::string out = dir("roberta");
    const test::CliRun r = test::cli({"import-hf", "--encoder", fx("hf/tiny-roberta"), "--decoder", fx(kGpt2), "--out",
                                      QString::fromStdString(out), "--preset", "tiny", "--latent", "8", "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    QCOMPARE(nlohmann::json::parse(r.out)["tokenizers"].get<std::string>(),
             std::string("encoder roberta-bpe, 704 tokens; decoder gpt2-bpe, 703 tokens"));
    QVERIFY(fs::exists(out + "/encoder_tokenizer/tokenizer_config.json"));
    LoadedModel lm = load_model(out);
    QCOMPARE(lm.config.model.encoder.arch, std::string("roberta"));
    QCOMPARE(lm.config.model.decoder.arch, std::string("gpt2"));
    QCOMPARE(lm.tokenizers.encoder->kind(), std::string("roberta-bpe"));
    QCOMPARE(lm.tokenizers.encoder->specials().pad, 1);
    const auto hf = weights(test::fixture("hf/tiny-roberta"));
    auto params = lm.model->encoder->named_parameters();
    QVERIFY(params["encoder.layer.1.output.dense.weight"].equal(hf.at("encoder.layer.1.output.dense.weight")));
    QVERIFY(params["embeddings.position_embeddings.weight"].equal(hf.at("embeddings.position_embeddings.weight")));
    const test::CliRun rec = test::cli({"reconstruct", "--model", QString::fromStdString(out), "the music was too loud."});
    QVERIFY2(rec.code == 0, rec.err.c_str());

    const std::string bad = dir("gpt2-as-encoder");
    const test::CliRun e = test::cli({"import-hf", "--encoder", fx(kGpt2), "--decoder", fx(kGpt2), "--out",
                                      QString::fromStdString(bad), "--preset", "tiny"});
    QCOMPARE(e.code, 1);
    LATENT_VERIFY_CONTAINS(e.err, "config.json: model_type");
    LATENT_VERIFY_CONTAINS(e.err, "\"gpt2\" is not supported as the encoder (supported: albert, bert, deberta, roberta, t5)");
    QVERIFY(!fs::exists(bad));
  }

  void importHfUsesEachSidesTokenizer() {
    QVERIFY(fs::exists(dir("hf") + "/encoder_tokenizer/vocab.txt"));
    QVERIFY(fs::exists(dir("hf") + "/decoder_tokenizer/added_tokens.json"));
    QVERIFY(!fs::exists(dir("hf") + "/tokenizer.model"));

    LoadedModel lm = load_model(dir("hf"));
    QCOMPARE(lm.config.model.tokenizer.type, std::string("pretrained"));
    QCOMPARE(lm.config.train.trainable, std::string("dmlp"));
    QCOMPARE(lm.tokenizers.encoder->kind(), std::string("wordpiece"));
    QCOMPARE(lm.tokenizers.decoder->kind(), std::string("gpt2-bpe"));
    // DMLP's added tokens follow GPT-2's 700 tokens in its order: <PAD>, <BOS>, <EOS>.
    const SpecialIds d = lm.tokenizers.decoder->specials();
    QCOMPARE(d.pad, 700);
    QCOMPARE(d.bos, 701);
    QCOMPARE(d.eos, 702);
    QCOMPARE(lm.model->decoder->named_parameters()["transformer.wte.weight"].size(0), int64_t(703));
    QCOMPARE(lm.tokenizers.encoder->specials().bos, 2);  // [CLS]

    // The data pipeline frames each side with its own ids.
    const TokenizedCorpus tc = tokenize_corpus(lm.tokenizers, sentences(), lm.config.model.max_length);
    QVERIFY(!tc.shared);
    const Batch b = make_batch(tc, {0, 1});
    QCOMPARE(b.enc_ids[0][0].item<int64_t>(), int64_t(2));    // [CLS]
    QCOMPARE(b.dec_ids[0][0].item<int64_t>(), int64_t(701));  // <BOS>
    QCOMPARE(b.dec_ids[1][b.dec_ids.size(1) - 1].item<int64_t>(), int64_t(700));  // the shorter row padded with <PAD>
    QCOMPARE(b.enc_ids[1][b.enc_ids.size(1) - 1].item<int64_t>(), int64_t(0));    // [PAD]

    // The pretrained weights are there: BERT's word embeddings, GPT-2's block 0 as our block 1.
    std::map<std::string, at::Tensor> bert, gpt2;
    for (auto& [k, v] : io::load(test::fixture(kBert + "/model.safetensors"))) bert.emplace(k, v);
    for (auto& [k, v] : io::load(test::fixture(kGpt2 + "/model.safetensors"))) gpt2.emplace(k, v);
    const auto w = weights(dir("hf"));
    QCOMPARE(maxDiff(w.at("encoder.embeddings.word_embeddings.weight"), bert.at("embeddings.word_embeddings.weight")), 0.0);
    QCOMPARE(maxDiff(w.at("decoder.transformer.h.1.ln_1.weight"), gpt2.at("transformer.h.0.ln_1.weight")), 0.0);
    QCOMPARE(maxDiff(w.at("decoder.transformer.wte.weight").narrow(0, 0, 700), gpt2.at("transformer.wte.weight")), 0.0);
  }

  // The folder's tokenizers are the Hugging Face folders' own, after any number of saves.
  void savedTokenizersReloadIdentically() {
    LoadedModel a = load_model(dir("hf"));
    save_model(dir("hf-copy"), a.config, a.tokenizers, a.model);
    LoadedModel b = load_model(dir("hf-copy"));
    const CodecPtr bert = load_codec(test::fixture(kBert)), gpt2 = load_codec(test::fixture(kGpt2));
    for (const auto& s : read_lines(test::fixture("hf/tokenizer_strings.txt"))) {
      QCOMPARE(b.tokenizers.encoder->encode(s), bert->encode(s));
      QCOMPARE(b.tokenizers.decoder->encode(s), gpt2->encode(s));
      QCOMPARE(b.tokenizers.decoder->decode(b.tokenizers.decoder->encode(s)), gpt2->decode(gpt2->encode(s)));
    }
    Generator ga(a.model, a.tokenizers), gb(b.model, b.tokenizers);
    QCOMPARE(maxDiff(ga.encode(sentences()), gb.encode(sentences())), 0.0);
    QCOMPARE(ga.reconstruct(sentences()), gb.reconstruct(sentences()));
  }

  // DMLP's recipe: only names with linear, wte, decoder.transformer.h.0, encoder, and the
  // noise network train; the pretrained GPT-2 blocks stay as they were.
  void trainingFromImportedModelMovesOnlyDmlpParameters() {
    const test::CliRun r = test::cli({"train", "--init", QString::fromStdString(dir("hf")), "--corpus",
                                      QString::fromStdString(dir("corpus.txt")), "--out", QString::fromStdString(dir("run")),
                                      "--steps", "4", "--batch", "8", "--json"});
    QVERIFY2(r.code == 0, (r.out + r.err).c_str());
    LATENT_VERIFY_CONTAINS(r.err, "tokenizer encoder wordpiece");
    QVERIFY(fs::exists(dir("run") + "/last/decoder_tokenizer/vocab.json"));
    const auto before = weights(dir("hf")), after = weights(dir("run") + "/last");
    for (const char* frozen : {"decoder.transformer.wpe.weight", "decoder.transformer.h.1.attn.c_attn.weight",
                               "decoder.transformer.ln_f.weight"})
      QVERIFY2(maxDiff(before.at(frozen), after.at(frozen)) == 0.0, frozen);
    for (const char* trained : {"decoder.transformer.h.0.attn.c_attn.weight", "decoder.transformer.wte.weight",
                                "decoder.transformer.linear.weight", "encoder.linear.weight"})
      QVERIFY2(maxDiff(before.at(trained), after.at(trained)) > 0.0, trained);
    bool eps_moved = false;
    for (const auto& [name, t] : before)
      if (name.rfind("eps_model.", 0) == 0 && maxDiff(t, after.at(name)) > 0) eps_moved = true;
    QVERIFY(eps_moved);
  }

  void pretrainedTokenizerTypeNeedsAStartingModel() {
    test::spit(dir("pretrained.json"), R"({"model": {"tokenizer": {"type": "pretrained"}}})");
    const test::CliRun r2 = test::cli({"train", "--corpus", QString::fromStdString(dir("corpus.txt")), "--out",
                                       QString::fromStdString(dir("run2")), "--preset", "tiny", "--config",
                                       QString::fromStdString(dir("pretrained.json"))});
    QCOMPARE(r2.code, 1);
    LATENT_VERIFY_CONTAINS(r2.err, "model.tokenizer.type");
    LATENT_VERIFY_CONTAINS(r2.err, "--init");
  }

  // Saving a model over a folder that held another kind of tokenizer leaves only the new one.
  void savingOverAnotherModelReplacesItsTokenizer() {
    LoadedModel imported = load_model(dir("hf"));
    const Tokenizers shared(Tokenizer::train(sentences(), TokenizerTrainOptions{"unigram", 300}));
    VaeDdpm scratch(imported.config.model, shared);
    save_model(dir("over"), imported.config, shared, scratch);
    QVERIFY(fs::exists(dir("over") + "/tokenizer.model"));
    save_model(dir("over"), imported.config, imported.tokenizers, imported.model);
    QVERIFY(!fs::exists(dir("over") + "/tokenizer.model"));
    QCOMPARE(load_model(dir("over")).tokenizers.encoder->kind(), std::string("wordpiece"));
    save_model(dir("over"), imported.config, shared, scratch);
    QVERIFY(!fs::exists(dir("over") + "/encoder_tokenizer"));
    QCOMPARE(load_model(dir("over")).tokenizers.decoder->kind(), std::string("sentencepiece"));
    // Both layouts at once (a hand-made folder) is an error that names them.
    fs::create_directories(dir("over") + "/encoder_tokenizer");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { load_model(dir("over")); }), "holds both");
  }

  void missingTokenizerFolderIsNamed() {
    fs::copy(dir("hf"), dir("broken"), fs::copy_options::recursive);
    fs::remove_all(dir("broken") + "/decoder_tokenizer");
    const std::string e = test::errorOf([&] { load_model(dir("broken")); });
    LATENT_VERIFY_CONTAINS(e, "decoder_tokenizer");
    fs::copy(dir("hf"), dir("broken2"), fs::copy_options::recursive);
    fs::remove(dir("broken2") + "/encoder_tokenizer/vocab.txt");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { load_model(dir("broken2")); }), "encoder_tokenizer");
  }

  // import-hf writes DMLP's training settings, and --config still wins over them.
  void importHfConfigOverridesDmlpSettings() {
    test::spit(dir("lr.json"), R"({"train": {"lr": 0.0001}})");
    const test::CliRun r = test::cli({"import-hf", "--encoder", fx(kBert), "--decoder", fx(kGpt2), "--out",
                                      QString::fromStdString(dir("hf-lr")), "--preset", "tiny", "--config",
                                      QString::fromStdString(dir("lr.json"))});
    QVERIFY2(r.code == 0, r.err.c_str());
    const auto j = test::readJson(dir("hf-lr") + "/config.json");
    QCOMPARE(j["train"]["lr"].get<double>(), 1e-4);
    QCOMPARE(j["train"]["trainable"].get<std::string>(), std::string("dmlp"));
    QCOMPARE(test::readJson(dir("hf") + "/config.json")["train"]["lr"].get<double>(), 9e-5);
  }

  // import-hf --delta: a trained model shipped as what training changed (fp16) over the
  // imported folders. The delta's tensors replace the import's, the rest stays; a delta
  // that does not fit (unknown name, wrong shape, NaN) is refused by name and writes nothing.
  void importHfAppliesADelta() {
    const auto base = weights(dir("hf"));
    torch::manual_seed(5);
    const std::string eps = "eps_model.time_embed.0.weight", lin = "encoder.linear.weight";
    QVERIFY(base.count(eps) && base.count(lin));
    io::NamedTensors delta{{eps, torch::randn(base.at(eps).sizes()).to(torch::kHalf)},
                           {lin, torch::randn(base.at(lin).sizes()).to(torch::kHalf)}};
    io::save(dir("delta.safetensors"), delta);
    auto run = [&](const std::string& out, const std::string& file) {
      return test::cli({"import-hf", "--encoder", fx(kBert), "--decoder", fx(kGpt2), "--out", QString::fromStdString(dir(out)),
                        "--preset", "tiny", "--config", QString::fromStdString(dir("hf") + "/config.json"), "--delta",
                        QString::fromStdString(dir(file))});
    };
    const test::CliRun r = run("with-delta", "delta.safetensors");
    QVERIFY2(r.code == 0, r.err.c_str());
    LATENT_VERIFY_CONTAINS(r.out, "2 trained tensors");
    const auto got = weights(dir("with-delta"));
    QVERIFY(got.at(eps).equal(delta[0].second.to(torch::kFloat)));
    QVERIFY(got.at(lin).equal(delta[1].second.to(torch::kFloat)));
    for (const auto& [name, t] : base)
      if (name != eps && name != lin) QVERIFY2(got.at(name).equal(t), name.c_str());

    auto refused = [&](io::NamedTensors bad, const std::string& name, const std::string& why) {
      io::save(dir("bad.safetensors"), bad);
      fs::remove_all(dir("bad-out"));
      const test::CliRun b = run("bad-out", "bad.safetensors");
      QCOMPARE(b.code, 1);
      LATENT_VERIFY_CONTAINS(b.err, "bad.safetensors");
      LATENT_VERIFY_CONTAINS(b.err, name);
      LATENT_VERIFY_CONTAINS(b.err, why);
      QVERIFY(!fs::exists(dir("bad-out")));
    };
    refused({{eps, delta[0].second}, {"decoder.no_such.weight", torch::zeros({2})}}, "decoder.no_such.weight", "not in the model");
    refused({{lin, torch::zeros({3, 3})}}, lin, "has shape [3, 3]");
    refused({{eps, torch::full(base.at(eps).sizes(), NAN)}}, eps, "non-finite");
  }

  void tokenizeShowsEachSide() {
    const test::CliRun r = test::cli({"tokenize", "--model", QString::fromStdString(dir("hf")), "the music", "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    const auto j = nlohmann::json::parse(r.out);
    QCOMPARE(j["results"][0]["decoder"]["ids"].get<std::vector<int>>(), load_codec(test::fixture(kGpt2))->encode("the music"));
    QVERIFY(j["results"][0]["encoder"]["pieces"].size() >= 2);
    QCOMPARE(j["vocab_size"]["decoder"].get<int>(), 703);
    const test::CliRun h = test::cli({"tokenize", "--model", fx(kBert), "the music", "--json"});  // a Hugging Face folder
    QVERIFY2(h.code == 0, h.err.c_str());
    QCOMPARE(nlohmann::json::parse(h.out)["vocab_size"].get<int>(), 379);
  }

  void bertVocabularyWithoutPadIsRefused() {
    QTemporaryDir d;
    test::spit(d.filePath("vocab.txt").toStdString(), "[UNK]\n[CLS]\n[SEP]\nthe\n");
    const std::string e = test::errorOf([&] { load_codec(d.path().toStdString()); });
    LATENT_VERIFY_CONTAINS(e, "vocab.txt");
    LATENT_VERIFY_CONTAINS(e, "[PAD]");
  }

  void importDmlpChecksTheExport() {
    auto edited = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
      const std::string d = dir(name);
      fs::copy(test::fixture("dmlp/trained/export"), d, fs::copy_options::recursive);
      auto j = test::readJson(d + "/dmlp.json");
      edit(j);
      test::spit(d + "/dmlp.json", j.dump());
      return d;
    };
    const std::string cls = edited("x-class", [](nlohmann::json& j) { j["decoder"]["class"] = "GPT2ForLatentConnectorNew3"; });
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { import_dmlp(cls, test::fixture(kBert), test::fixture(kGpt2)); }),
                           "decoder.class: DMLP class \"GPT2ForLatentConnectorNew3\" is not supported as the decoder");
    // Another class than the run's: the tensors that do not fit are named.
    const std::string new2 = edited("x-new2", [](nlohmann::json& j) { j["decoder"]["class"] = "GPT2ForLatentConnectorNew2"; });
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { import_dmlp(new2, test::fixture(kBert), test::fixture(kGpt2)); }),
                           "transformer.h.0.mlp.c_fc.weight [128, 32] vs [384, 32]");
    const std::string pad = edited("x-pad", [](nlohmann::json& j) { j["decoder"]["special_tokens"]["pad"]["id"] = 3; });
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { import_dmlp(pad, test::fixture(kBert), test::fixture(kGpt2)); }),
                           "decoder.special_tokens.pad");
    const std::string none = edited("x-none", [](nlohmann::json& j) { j["decoder"].erase("special_tokens"); });
    const ImportedModel m = import_dmlp(none, test::fixture(kBert), test::fixture(kGpt2));
    QCOMPARE(m.warnings.size(), size_t(1));
    LATENT_VERIFY_CONTAINS(m.warnings[0], "special_tokens");
  }

  void importHfRejectsAFolderThatIsNotGpt2() {
    const test::CliRun r = test::cli({"import-hf", "--encoder", fx(kBert), "--decoder", fx(kBert), "--out",
                                      QString::fromStdString(dir("bad")), "--preset", "tiny"});
    QCOMPARE(r.code, 1);
    LATENT_VERIFY_CONTAINS(r.err, "error: ");
    LATENT_VERIFY_CONTAINS(r.err, "trained/bert");
    QVERIFY(!fs::exists(dir("bad") + "/config.json"));
  }

  // The issue's check: a VAE_DDPM trained with the real dmlp package, converted, loaded by
  // latent-cli: same latent means, decoder logits and noise predictions within 1e-4.
  void dmlpTrainedModelMatchesDmlp() { matchesDmlp("dmlp/trained", kBert, "dmlp"); }

  // The same with DMLP's RobertaForLatentConnector as the encoder (its class in dmlp.json
  // picks the roberta family): tests/fixtures/dmlp/make_trained_roberta_fixture.py.
  void dmlpTrainedRobertaModelMatchesDmlp() { matchesDmlp("dmlp/trained-roberta", "hf/tiny-roberta", "dmlp-roberta"); }

  // BertForLatentConnector (cls pooling) + GPT2ForLatentConnector (no extra block), and the
  // "New" classes: BertForLatentConnectorNew + GPT2ForLatentConnectorNew2 (extra block MLP
  // 12 x hidden), RobertaForLatentConnectorNew + GPT2ForLatentConnectorNew
  // (tests/fixtures/dmlp/make_trained_class_fixtures.py).
  void dmlpClsAndNoExtraBlockMatchDmlp() { matchesDmlp("dmlp/trained-cls", kBert, "dmlp-cls"); }
  void dmlpNewEncoderAndNew2DecoderMatchDmlp() { matchesDmlp("dmlp/trained-new", kBert, "dmlp-new"); }
  void dmlpRobertaNewMatchesDmlp() { matchesDmlp("dmlp/trained-roberta-new", "hf/tiny-roberta", "dmlp-roberta-new"); }
  void dmlpAlbertMatchesDmlp() { matchesDmlp("dmlp/trained-albert", "hf/tiny-albert", "dmlp-albert"); }
  // T5's encoder side has no BOS: text </s> (our framing skips a bos of -1).
  void dmlpT5EncoderMatchesDmlp() { matchesDmlp("dmlp/trained-t5", "hf/tiny-t5", "dmlp-t5"); }
  // DeBERTa v1 (disentangled relative attention): DebertaForLatentConnector (ContextPooler
  // on [CLS]) + GPT2ForLatentConnectorNew, and DebertaForLatentConnectorNew (extra DebertaLayer,
  // masked mean) + GPT2ForLatentConnector.
  void dmlpDebertaMatchesDmlp() { matchesDmlp("dmlp/trained-deberta", "hf/tiny-deberta", "dmlp-deberta"); }
  void dmlpDebertaNewMatchesDmlp() { matchesDmlp("dmlp/trained-deberta-new", "hf/tiny-deberta", "dmlp-deberta-new"); }

  // An Optimus checkpoint made with Optimus's own classes (BertForLatentConnector +
  // GPT2ForLatentConnector, learned posterior, a GPT-2 tokenizer with a prefix space),
  // converted by tools/optimus/convert_checkpoint.py and imported: tokenization, mu,
  // logits and 20 greedy reconstructions (11 distinct) equal Optimus's
  // (tests/fixtures/optimus/make_optimus_fixture.py).
  void optimusCheckpointMatchesOptimus() { matchesDmlp("optimus", kBert, "optimus"); }

 private:
  void matchesDmlp(const std::string& fixture, const std::string& encoder, const std::string& out) {
    const test::CliRun r = test::cli({"import-dmlp", "--checkpoint", fx(fixture + "/export"), "--encoder", fx(encoder),
                                      "--decoder", fx(kGpt2), "--out", QString::fromStdString(dir(out))});
    QVERIFY2(r.code == 0, r.err.c_str());
    const auto j = test::readJson(test::fixture(fixture + "/export/dmlp.json"));
    const bool optimus = j.value("optimus", false);
    if (optimus) LATENT_VERIFY_CONTAINS(r.err, "an Optimus model has no diffusion prior");
    else QVERIFY2(r.err.find("warning") == std::string::npos, r.err.c_str());
    LoadedModel lm = load_model(dir(out));
    QCOMPARE(lm.config.model.posterior, std::string(optimus ? "learned" : "fixed"));
    if (optimus) {  // no prior in the checkpoint: a run from it trains one on the latents as they are
      QCOMPARE(lm.config.model.alpha_ddpm, 1.0);
      QVERIFY(lm.config.train.ddpm_detach_steps > 1000000);
    }
    std::map<std::string, at::Tensor> want;
    for (auto& [k, v] : io::load(test::fixture(fixture + "/expected.safetensors"))) want.emplace(k, v);
    c10::InferenceMode guard;

    // Our tokenizers give DMLP's ids: each side's framing ([CLS]/<s> ... [SEP]/</s>, <BOS> ... <EOS>).
    const auto s = test::readJson(test::fixture(fixture + "/sentences.json")).get<std::vector<std::string>>();
    const SpecialIds e = lm.tokenizers.encoder->specials(), d = lm.tokenizers.decoder->specials();
    for (size_t i = 0; i < s.size(); ++i) {
      std::vector<int> enc, dec{d.bos};
      if (e.bos >= 0) enc.push_back(e.bos);
      for (int id : lm.tokenizers.encoder->encode(s[i])) enc.push_back(id);
      for (int id : lm.tokenizers.decoder->encode(s[i])) dec.push_back(id);
      enc.push_back(e.eos);
      dec.push_back(d.eos);
      QCOMPARE(enc, row(want.at("enc_ids"), static_cast<int64_t>(i), e.pad));
      QCOMPARE(dec, row(want.at("dec_ids"), static_cast<int64_t>(i), d.pad));
    }

    // mu from text through our whole encode path; its values are ~0.01, so also relative.
    Generator g(lm.model, lm.tokenizers);
    const auto mu = g.encode(s);
    const double dmu = maxDiff(mu, want.at("mu"));
    QVERIFY2(dmu < 1e-4 && dmu < 1e-3 * want.at("mu").abs().max().item<double>(), std::to_string(dmu).c_str());

    const auto logits = lm.model->decoder->forward(want.at("dec_ids"), want.at("z"));
    const double dl = maxDiff(logits, want.at("logits"));
    QVERIFY2(dl < 1e-4, std::to_string(dl).c_str());

    // The class names in dmlp.json picked the families and their settings.
    QCOMPARE(lm.config.model.encoder.extra_layer, j["encoder"].value("extra_layer", false));
    QCOMPARE(lm.config.model.encoder.pooling, j["encoder"]["pooling"].get<std::string>());
    QCOMPARE(lm.config.model.decoder.extra_first_block, j["decoder"]["extra_first_block"].get<bool>());

    // Greedy reconstructions: ours from DMLP's mu equal DMLP's own loop
    // (DMLP.utils.sample.sample_sequence_conditional, as its reconstruction code calls it)
    // token for token, and our mu of those sentences equals DMLP's.
    const auto gs = test::readJson(test::fixture(fixture + "/greedy_sentences.json")).get<std::vector<std::string>>();
    const auto gids = want.at("greedy_ids");
    QVERIFY(gs.size() >= 20);
    QCOMPARE(gids.size(0), int64_t(gs.size()));
    QVERIFY((g.encode(gs) - want.at("greedy_mu")).abs().max().item<double>() < 1e-4);
    DecodeOptions greedy;
    greedy.max_tokens = static_cast<int>(gids.size(1));
    const auto ours = g.decode_ids(want.at("greedy_mu"), greedy);
    for (int64_t i = 0; i < gids.size(0); ++i) {
      std::vector<int> theirs, mine = ours[static_cast<size_t>(i)];
      for (int64_t k = 0; k < gids.size(1) && gids[i][k].item<int64_t>() >= 0; ++k)
        theirs.push_back(static_cast<int>(gids[i][k].item<int64_t>()));
      if (!theirs.empty() && theirs.back() == d.eos) mine.push_back(d.eos);  // ours stops before EOS
      QCOMPARE(mine, theirs);
    }

    if (optimus) return;  // no diffusion prior to compare
    const auto t_frac = want.at("t").to(at::kFloat) / lm.config.model.diffusion.steps;
    const auto eps = lm.model->eps_model->forward(want.at("x_t"), t_frac);
    const double de = maxDiff(eps, want.at("eps"));
    QVERIFY2(de < 1e-4, std::to_string(de).c_str());
  }

 private Q_SLOTS:
  void importDmlpNamesWhatDoesNotFit() {
    // The tiny-gpt2 tokenizer folder has no config.json: not the GPT-2 the run started from.
    const std::string e = test::errorOf([] {
      import_dmlp(test::fixture("dmlp/trained/export"), test::fixture(kBert), test::fixture("hf/tiny-gpt2"));
    });
    LATENT_VERIFY_CONTAINS(e, "tiny-gpt2");
    LATENT_VERIFY_CONTAINS(test::errorOf([] { import_dmlp(test::fixture("dmlp/trained"), test::fixture(kBert), test::fixture(kGpt2)); }),
                           "convert_checkpoint.py");
  }
};

QTEST_MAIN(TestImport)
#include "test_import.moc"
