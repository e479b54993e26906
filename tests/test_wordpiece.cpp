// WordPiece (BERT) tokenization against transformers' BertTokenizer, and the Unicode
// operations under it against Python's unicodedata and str.lower(), on the strings of
// tests/fixtures/hf/tokenizer_strings.txt (punctuation, whitespace runs, accents, CJK,
// Hangul, emoji, numbers, Greek final sigma, Turkish dotted I, control characters,
// special tokens inside text, over-long words) with the all-MiniLM-L6-v2 vocabulary.
#include <QTemporaryDir>

#include "test_util.h"
#include "text/unicode.h"
#include "text/wordpiece.h"

using namespace latent;

namespace {

std::string hfDir() { return test::fixture("hf/minilm"); }

QString show(const std::vector<std::string>& v) {
  QStringList l;
  for (const auto& s : v) l << QString::fromStdString(s);
  return l.join(" | ");
}

}  // namespace

class TestWordPiece : public QObject {
  Q_OBJECT
  nlohmann::json cases_;

 private Q_SLOTS:
  void initTestCase() { cases_ = test::readJson(test::fixture("hf/wordpiece_cases.json")); }

  void unicodeMatchesPython() {
    QVERIFY(cases_["unicode"].size() > 30);
    QCOMPARE(std::string(unicode::version()), std::string("14.0.0"));
    for (const auto& c : cases_["unicode"]) {
      const auto text = unicode::decode(c["text"].get<std::string>());
      QCOMPARE(unicode::encode(unicode::nfd(text)), c["nfd"].get<std::string>());
      QCOMPARE(unicode::encode(unicode::nfc(text)), c["nfc"].get<std::string>());
      QCOMPARE(unicode::encode(unicode::to_lower(text)), c["lower"].get<std::string>());
      std::u32string per_char;  // lowering one code point at a time never applies Final_Sigma
      for (char32_t cp : text) per_char += unicode::to_lower(std::u32string(1, cp));
      QCOMPARE(unicode::to_lower(text, /*final_sigma=*/false), per_char);
    }
  }

  void utf8RoundTripAndReplacement() {
    const std::string s = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x99\x82";
    QCOMPARE(unicode::decode(s), (std::u32string{U'a', 0xE9, 0x4E2D, 0x1F642}));
    QCOMPARE(unicode::encode(unicode::decode(s)), s);
    QCOMPARE(unicode::decode("a\xFF" "b"), (std::u32string{U'a', 0xFFFD, U'b'}));  // invalid byte
    QCOMPARE(unicode::decode("\xC0\xAF"), (std::u32string{0xFFFD, 0xFFFD}));      // never a valid start byte
    QCOMPARE(unicode::decode("\xE4\xB8" "a"), (std::u32string{0xFFFD, U'a'}));  // truncated: one replacement
    QCOMPARE(unicode::decode("\xED\xA0\x80"), (std::u32string{0xFFFD, 0xFFFD, 0xFFFD}));  // surrogate
    QCOMPARE(unicode::category(U'A'), unicode::Category::Lu);
    QCOMPARE(unicode::category(0x0301), unicode::Category::Mn);
    QCOMPARE(unicode::category(0x3000), unicode::Category::Zs);
  }

  void tokensAndIdsMatchBertTokenizer() {
    const WordPieceTokenizer uncased = WordPieceTokenizer::load(hfDir());
    WordPieceOptions o = uncased.options();
    o.lower_case = false;
    // The cased and keep-accents variants use the same vocabulary with other options.
    const WordPieceTokenizer cased = WordPieceTokenizer::load(hfDir()).with_options(o);
    WordPieceOptions k = uncased.options();
    k.strip_accents = 0;
    const WordPieceTokenizer keep = WordPieceTokenizer::load(hfDir()).with_options(k);
    int n = 0;
    for (const auto& c : cases_["cases"]) {
      const std::string config = c["config"];
      const WordPieceTokenizer& t = config == "minilm" ? uncased : config == "minilm-cased" ? cased : keep;
      const std::string text = c["text"];
      const auto want = c["tokens"].get<std::vector<std::string>>();
      const auto got = t.tokenize(text);
      QVERIFY2(got == want, qPrintable(QString::fromStdString(config + ": " + text) + "\n got:  " + show(got) +
                                       "\n want: " + show(want)));
      QCOMPARE(t.encode(text), c["ids"].get<std::vector<int>>());
      ++n;
    }
    QVERIFY(n > 80);
  }

  // save() writes a folder that load() reads back to the same tokenizer: each option
  // variant (cased, accents kept) on every fixture string.
  void saveLoadsBackTheSameTokenizer() {
    QTemporaryDir tmp;
    const WordPieceTokenizer uncased = WordPieceTokenizer::load(hfDir());
    WordPieceOptions cased = uncased.options(), keep = uncased.options();
    cased.lower_case = false;
    keep.strip_accents = 0;
    int i = 0;
    for (const WordPieceOptions& o : {uncased.options(), cased, keep}) {
      const WordPieceTokenizer t = uncased.with_options(o);
      const std::string dir = tmp.filePath(QString::number(i++)).toStdString();
      t.save(dir);
      const WordPieceTokenizer back = WordPieceTokenizer::load(dir);
      QCOMPARE(back.vocab_size(), t.vocab_size());
      QCOMPARE(back.options().lower_case, o.lower_case);
      QCOMPARE(back.options().strip_accents, o.strip_accents);
      for (const auto& c : cases_["cases"]) QCOMPARE(back.encode(c["text"]), t.encode(c["text"]));
    }
  }

  void idsAndDecoding() {
    const WordPieceTokenizer t = WordPieceTokenizer::load(hfDir());
    QCOMPARE(t.vocab_size(), 30522);
    QCOMPARE(t.pad_id(), 0);
    QCOMPARE(t.cls_id(), 101);
    QCOMPARE(t.sep_id(), 102);
    QCOMPARE(t.decode(t.encode("Tokenization of whitespaces")), std::string("tokenization of whitespaces"));
  }

  void missingOrBrokenFilesNameThemselves() {
    QTemporaryDir dir;
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { WordPieceTokenizer::load(dir.path().toStdString()); }), "vocab.txt");
    test::spit(dir.filePath("vocab.txt").toStdString(), "a\nb\n");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { WordPieceTokenizer::load(dir.path().toStdString()); }), "[UNK]");
    test::spit(dir.filePath("vocab.txt").toStdString(), "[UNK]\na\n");
    test::spit(dir.filePath("tokenizer_config.json").toStdString(), "{nope");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { WordPieceTokenizer::load(dir.path().toStdString()); }), "tokenizer_config.json");
  }
};

QTEST_MAIN(TestWordPiece)
#include "test_wordpiece.moc"
