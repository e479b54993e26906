// DAVAE (Fengshenbang-LM's DAVAEModel, the Randeng-DAVAE models): its decoder family
// (model/families/davae_decoder.cpp, GPT-2 blocks with Transformer-XL relative attention), its
// decoder tokenizer (T5's SentencePiece with <|endoftext|> and <bos> added) and the import of a
// Randeng-style folder through tools/davae/convert_checkpoint.py and import_dmlp, against a tiny
// DAVAE made and run by Fengshenbang's own classes (tests/fixtures/davae/make_davae_fixtures.py).
#include <torch/torch.h>
#include <ATen/CPUGeneratorImpl.h>

#include <QTemporaryDir>

#include <filesystem>
#include <map>
#include <set>

#include "infer/generator.h"
#include "io/safetensors.h"
#include "model/family.h"
#include "model/model_io.h"
#include "model/pretrained.h"
#include "model/vae_ddpm.h"
#include "model_fixtures.h"
#include "test_util.h"

using namespace latent;
namespace fs = std::filesystem;

namespace {

std::map<std::string, at::Tensor> expected() {
  std::map<std::string, at::Tensor> m;
  for (auto& [k, v] : io::load(test::fixture("davae/expected.safetensors"))) m.emplace(k, v);
  return m;
}

ImportedModel imported() {
  const std::string dir = test::fixture("davae/export");
  return import_dmlp(dir, dir + "/bert", dir + "/gpt");
}

double maxDiff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

std::vector<int> ints(const nlohmann::json& j) { return j.get<std::vector<int>>(); }

}  // namespace

class TestDavaeDecoder : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  // The converted folder imports as DAVAE's design: the davae decoder family with the latent
  // as an embedding after every block, no memory slot, a learned posterior, no prior.
  void importsAsDavae() {
    const ImportedModel m = imported();
    const ModelConfig& c = m.config.model;
    QCOMPARE(QString::fromStdString(c.decoder.arch), QString("davae"));
    QVERIFY(c.decoder.latent_as_embedding && c.decoder.latent_every_layer && !c.decoder.latent_as_memory);
    QVERIFY(!c.decoder.extra_first_block);
    QCOMPARE(QString::fromStdString(c.posterior), QString("learned"));
    QCOMPARE(QString::fromStdString(c.encoder.pooling), QString("cls"));
    QCOMPARE(c.latent_dim, 16);
    QCOMPARE(m.warnings.size(), size_t(1));
    LATENT_VERIFY_CONTAINS(m.warnings[0], "a DAVAE model has no diffusion prior");
  }

  // The decoder tokenizer as generate.py builds it (T5Tokenizer, eos <|endoftext|>, pad <pad>,
  // extra_ids 0, then <bos> added): the same ids as transformers' on strings holding the
  // special tokens, the same text back, and the same after our save and reload.
  void decoderTokenizerMatchesTransformers() {
    const auto cases = test::readJson(test::fixture("davae/cases.json"))["tokenizer_cases"];
    QVERIFY(cases.size() >= 4);
    const CodecPtr tok = load_codec(test::fixture("davae/export/gpt"));
    QCOMPARE(tok->vocab_size(), 602);
    const SpecialIds ids = tok->specials();
    QCOMPARE(ids.bos, 601);
    QCOMPARE(ids.eos, 600);
    QCOMPARE(ids.pad, 0);
    QCOMPARE(ids.unk, 2);
    QTemporaryDir dir;
    tok->save(dir.path().toStdString());
    const CodecPtr back = load_codec(dir.path().toStdString());
    QCOMPARE(back->vocab_size(), 602);
    QCOMPARE(back->specials().bos, 601);
    for (const auto& c : cases) {
      const std::string text = c["text"].get<std::string>();
      QCOMPARE(tok->encode(text), ints(c["ids"]));
      QCOMPARE(back->encode(text), ints(c["ids"]));
      QCOMPARE(QString::fromStdString(tok->decode(ints(c["ids"]))), QString::fromStdString(c["decoded"].get<std::string>()));
    }
  }

  // added_tokens.json may not leave a gap after the pieces nor give two tokens one id (no id in
  // it sizes anything).
  void addedTokensWithAGapAreRefused() {
    QTemporaryDir dir;
    const std::string d = dir.filePath("gpt").toStdString();
    fs::copy(test::fixture("davae/export/gpt"), d);
    test::spit(d + "/added_tokens.json", R"({"<|endoftext|>": 600, "<bos>": 1799999999})");
    const std::string e = test::errorOf([&] { load_codec(d); });
    LATENT_VERIFY_CONTAINS(e, "added_tokens.json: \"<bos>\"");
    LATENT_VERIFY_CONTAINS(e, "outside the vocabulary");
    test::spit(d + "/added_tokens.json", R"({"<|endoftext|>": 600, "<bos>": 602, "</s>": 1})");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { load_codec(d); }), "expected the next free id 601");
    test::spit(d + "/added_tokens.json", R"({"<|endoftext|>": 600, "<bos>": 600})");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { load_codec(d); }), "is also");
  }

  // Their numbers: the tokenization of both sides, mu and logvar from text through our encode
  // path, and the decoder's logits from mu, within 1e-4.
  void matchesFengshen() {
    ImportedModel m = imported();
    const auto want = expected();
    const auto cases = test::readJson(test::fixture("davae/cases.json"));
    const auto sentences = cases["sentences"].get<std::vector<std::string>>();
    const SpecialIds e = m.tokenizers.encoder->specials(), d = m.tokenizers.decoder->specials();
    for (size_t i = 0; i < sentences.size(); ++i) {
      std::vector<int> enc{e.bos}, dec{d.bos};
      for (int id : m.tokenizers.encoder->encode(sentences[i])) enc.push_back(id);
      for (int id : m.tokenizers.decoder->encode(sentences[i])) dec.push_back(id);
      enc.push_back(e.eos);
      dec.push_back(d.eos);
      QCOMPARE(enc, ints(cases["enc_ids"][i]));
      QCOMPARE(dec, ints(cases["dec_ids"][i]));
    }
    c10::InferenceMode guard;
    Generator g(m.model, m.tokenizers);
    const double dmu = maxDiff(g.encode(sentences), want.at("mu"));
    QVERIFY2(dmu < 1e-4, std::to_string(dmu).c_str());
    const auto post = m.model->posterior(want.at("enc_ids"));
    QVERIFY2(maxDiff(post.logvar, want.at("logvar")) < 1e-4, std::to_string(maxDiff(post.logvar, want.at("logvar"))).c_str());
    const int64_t rows = want.at("logits").size(0);
    const auto ids = want.at("dec_ids").narrow(0, 0, rows);
    const auto logits = m.model->decoder->forward(ids, want.at("mu").narrow(0, 0, rows));
    const double dl = maxDiff(logits, want.at("logits"));
    QVERIFY2(dl < 1e-4, std::to_string(dl).c_str());

    // Token by token through the cache (the new token scored against distances t - j) gives
    // the whole-sequence logits: their code never decodes this way, so it is checked here.
    KVCache cache = m.model->decoder->start(want.at("mu").narrow(0, 0, rows), ids.size(1));
    std::vector<at::Tensor> steps;
    for (int64_t t = 0; t < ids.size(1); ++t) steps.push_back(m.model->decoder->step(cache, ids.narrow(1, t, 1)));
    const double ds = maxDiff(torch::cat(steps, 1), logits);
    QVERIFY2(ds < 1e-4, std::to_string(ds).c_str());
    // And a chunk after a cached prefix (the lower-right causal mask with distances).
    KVCache half = m.model->decoder->start(want.at("mu").narrow(0, 0, rows), ids.size(1));
    m.model->decoder->step(half, ids.narrow(1, 0, 3));
    const double dc = maxDiff(m.model->decoder->step(half, ids.narrow(1, 3, ids.size(1) - 3)), logits.narrow(1, 3, ids.size(1) - 3));
    QVERIFY2(dc < 1e-4, std::to_string(dc).c_str());
  }

  // Greedy decoding from their mu: token for token what their sample_sequence_conditional_batch
  // gives with top_k 1 (it re-runs the whole prefix each step), and the same text.
  void greedyDecodingMatchesFengshen() {
    ImportedModel m = imported();
    const auto want = expected();
    const auto cases = test::readJson(test::fixture("davae/cases.json"));
    c10::InferenceMode guard;
    Generator g(m.model, m.tokenizers);
    DecodeOptions greedy;
    greedy.max_tokens = cases["max_out_length"].get<int>() - 1;  // their length counts <bos>
    const auto ours = g.decode_ids(want.at("mu"), greedy);
    const auto& theirs = cases["greedy"];
    QCOMPARE(ours.size(), theirs.size());
    std::set<std::vector<int>> distinct;
    for (size_t i = 0; i < ours.size(); ++i) {
      QCOMPARE(ours[i], ints(theirs[i]["ids"]));
      QCOMPARE(QString::fromStdString(m.tokenizers.decoder->decode(ours[i])),
               QString::fromStdString(theirs[i]["text"].get<std::string>()));
      distinct.insert(ours[i]);
    }
    QVERIFY(distinct.size() >= 10);  // z shapes the text: a latent bug would show
  }

  // The family built from scratch (model.decoder.arch "davae" on the tiny preset): a train step
  // reaches the relative-attention biases, and the model saves and loads to the same outputs.
  void trainsFromScratchAndReloads() {
    Config c = preset("tiny");
    c.model.decoder = with_decoder_arch(c.model.decoder, "davae", "test");
    QVERIFY(!c.model.decoder.latent_as_memory && c.model.decoder.latent_as_embedding);
    QVERIFY(!c.model.decoder.extra_first_block);
    validate(c, "test");
    const Tokenizer tok = test::tinyTokenizer();
    VaeDdpm m = test::tinyModel(c, tok.vocab_size());
    QVERIFY(test::hasParam(*m->decoder, "transformer.r_r_bias"));
    QVERIFY(test::hasParam(*m->decoder, "transformer.layers.0.attention.relative.weight"));
    m->train();
    Batch b{torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}}, torch::kLong), torch::tensor({{2, 10, 11, 3}, {2, 12, 3, 0}}, torch::kLong)};
    const LossOutput out = m->forward(b, at::make_generator<at::CPUGeneratorImpl>(3));
    QVERIFY(std::isfinite(out.loss.item<double>()));
    out.loss.backward();
    QVERIFY(m->decoder->named_parameters()["transformer.r_r_bias"].grad().abs().sum().item<double>() > 0);
    QVERIFY(m->decoder->named_parameters()["transformer.linear_emb.weight"].grad().abs().sum().item<double>() > 0);
    m->eval();
    QTemporaryDir dir;
    const std::string path = dir.filePath("davae").toStdString();
    save_model(path, c, tok, m);
    LoadedModel lm = load_model(path);
    QCOMPARE(QString::fromStdString(lm.config.model.decoder.arch), QString("davae"));
    c10::InferenceMode guard;
    const auto z = torch::randn({2, c.model.latent_dim});
    QVERIFY(torch::equal(m->decoder->forward(b.dec_ids, z), lm.model->decoder->forward(b.dec_ids, z)));
    Generator gen(lm.model, lm.tokenizers);
    QCOMPARE(gen.reconstruct({"the cat sat on the mat"}).size(), size_t(1));
  }

  // A memory slot has no place in relative attention: the family says so, naming the key.
  void refusesTheMemorySlot() {
    Config c = preset("tiny");
    c.model.decoder = with_decoder_arch(c.model.decoder, "davae", "test");
    c.model.decoder.latent_as_memory = true;
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { validate(c, "cfg.json"); }), "latent_as_memory");
  }
};

QTEST_GUILESS_MAIN(TestDavaeDecoder)
#include "test_davae_decoder.moc"
