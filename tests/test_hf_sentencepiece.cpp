// Hugging Face's SentencePiece tokenizers against transformers' slow ones: T5Tokenizer
// (make_t5_fixtures.py) and ALBERT's AlbertTokenizer on a tiny spiece.model
// (tests/fixtures/hf/make_albert_fixtures.py):
// its text preprocessing, tokens, ids with [CLS] ... [SEP], the digit-comma split,
// special tokens inside text ([MASK] swallowing the space before it); the codec saved into
// a model folder loads back as the same kind.
#include <QTemporaryDir>

#include "codec_cases.h"
#include "test_util.h"
#include "text/codec.h"
#include "text/hf_sentencepiece.h"

using namespace latent;

class TestHfSentencePiece : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void albertMatchesAlbertTokenizer() {
    const auto fx = test::readJson(test::fixture("hf/albert_cases.json"));
    const std::string dir = test::fixture("hf/tiny-albert");
    const HfSentencePiece t = HfSentencePiece::load(dir, HfSentencePiece::Flavor::Albert);
    QVERIFY(t.options().lower);
    QVERIFY(!t.options().keep_accents);
    const CodecPtr c = load_codec(dir);
    QCOMPARE(c->kind(), std::string("albert-spm"));
    QCOMPARE(c->vocab_size(), fx["vocab_size"].get<int>());
    const SpecialIds ids = c->specials();
    QCOMPARE(ids.pad, fx["special_ids"]["pad"].get<int>());
    QCOMPARE(ids.unk, fx["special_ids"]["unk"].get<int>());
    QCOMPARE(ids.bos, fx["special_ids"]["cls"].get<int>());
    QCOMPARE(ids.eos, fx["special_ids"]["sep"].get<int>());
    for (const auto& k : fx["cases"]) {
      const std::string text = k["text"];
      if (text.find('[') == std::string::npos && text.find('<') == std::string::npos)
        QCOMPARE(t.preprocess(text), k["preprocessed"].get<std::string>());
    }
    QVERIFY(test::checkCodecCases(c, fx["cases"]) > 30);
    QCOMPARE(c->decode(c->encode("the cat sat on the mat")), std::string("the cat sat on the mat"));
  }

  // T5Tokenizer (legacy behaviour): SentencePiece as is, text </s> without BOS, </s> and
  // the <extra_id_N> sentinels (ids after the pieces, <extra_id_0> last, swallowing the
  // whitespace around them) kept whole (make_t5_fixtures.py).
  void t5MatchesT5Tokenizer() {
    const auto fx = test::readJson(test::fixture("hf/t5_cases.json"));
    const std::string dir = test::fixture("hf/tiny-t5");
    const CodecPtr c = load_codec(dir);
    QCOMPARE(c->kind(), std::string("t5-spm"));
    QCOMPARE(c->vocab_size(), fx["vocab_size"].get<int>());
    const SpecialIds ids = c->specials();
    QCOMPARE(ids.bos, -1);
    QCOMPARE(ids.eos, fx["special_ids"]["eos"].get<int>());
    QCOMPARE(ids.pad, fx["special_ids"]["pad"].get<int>());
    QCOMPARE(ids.unk, fx["special_ids"]["unk"].get<int>());
    const HfSentencePiece t = HfSentencePiece::load(dir, HfSentencePiece::Flavor::T5);
    QCOMPARE(t.id("<extra_id_0>"), fx["extra_id_0"].get<int>());
    QCOMPARE(t.id("<extra_id_99>"), fx["extra_id_99"].get<int>());
    QVERIFY(test::checkCodecCases(c, fx["cases"]) > 30);
  }

  void badFoldersAreNamed() {
    QTemporaryDir dir;
    test::spit(dir.filePath("spiece.model").toStdString(), "not a model");
    test::spit(dir.filePath("tokenizer_config.json").toStdString(), R"({"tokenizer_class": "AlbertTokenizer"})");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { load_codec(dir.path().toStdString()); }), "spiece.model: not a SentencePiece model");
    test::spit(dir.filePath("tokenizer_config.json").toStdString(), R"({"tokenizer_class": "XLNetTokenizer"})");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { load_codec(dir.path().toStdString()); }), "only ALBERT's (AlbertTokenizer) and T5's");
  }
};

QTEST_MAIN(TestHfSentencePiece)
#include "test_hf_sentencepiece.moc"
