// Corpus loader (text and JSONL, bad lines counted by reason), UTF-8 helpers, and the
// default corpus extracted from WordNet at build time.
#include <set>

#include "data/corpus.h"
#include "data/wordnet.h"
#include "test_util.h"
#include "util/utf8.h"

using namespace latent;

class TestCorpus : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void utf8Validation() {
    QVERIFY(utf8::is_valid("plain ascii"));
    QVERIFY(utf8::is_valid("caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80"));
    QVERIFY(!utf8::is_valid("\xC3"));              // truncated sequence
    QVERIFY(!utf8::is_valid("\xC0\xAF"));          // overlong '/'
    QVERIFY(!utf8::is_valid("\xED\xA0\x80"));      // surrogate
    QVERIFY(!utf8::is_valid("\xF4\x90\x80\x80"));  // > U+10FFFF
    QVERIFY(!utf8::is_valid("\xFF"));
    QCOMPARE(utf8::length("caf\xC3\xA9"), size_t(4));
    QCOMPARE(utf8::normalize_whitespace("  a \t b\xC2\xA0\xC2\xA0 c  "), std::string("a b c"));
    QCOMPARE(utf8::split_whitespace(" a  b\tc ").size(), size_t(3));
  }

  // A crafted file with every kind of bad line: each is counted under its reason, with
  // its line number, and nothing good is lost.
  void textCountsByReason() {
    std::string bytes;
    bytes += "\xEF\xBB\xBF" "first sentence\n";   // 1: BOM stripped
    bytes += "\n";                                // 2: empty
    bytes += "   \t  \n";                         // 3: blank -> empty
    bytes += "bad \xFF\xFE bytes\n";              // 4: invalid UTF-8
    bytes += "  spaced    out \t words \r\n";     // 5: normalised, CRLF
    bytes += std::string(3000, 'x') + "\n";       // 6: too long (one word) -> truncated
    for (int i = 0; i < 60; ++i) bytes += "word ";
    bytes += "\n";                                // 7: truncated at a word boundary
    bytes += "\xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 caf\xC3\xA9\n";  // 8: CJK, emoji, accent
    bytes += "last line without newline";          // 9
    CorpusOptions opt;
    opt.max_chars = 100;
    opt.format = CorpusFormat::Text;
    const Corpus c = parse_corpus(bytes, "crafted.txt", opt);
    QCOMPARE(c.stats.lines_read, size_t(9));
    QCOMPARE(c.stats.kept, size_t(6));
    QCOMPARE(c.stats.skipped.at(reason::kEmpty), size_t(2));
    QCOMPARE(c.stats.skipped.at(reason::kInvalidUtf8), size_t(1));
    QCOMPARE(c.stats.modified.at(reason::kTruncated), size_t(2));
    QCOMPARE(c.stats.examples.at(reason::kInvalidUtf8), std::vector<size_t>{4});
    QCOMPARE(c.stats.examples.at(reason::kEmpty), (std::vector<size_t>{2, 3}));
    QCOMPARE(c.sentences[0], std::string("first sentence"));
    QCOMPARE(c.sentences[1], std::string("spaced out words"));
    QCOMPARE(utf8::length(c.sentences[2]), size_t(100));
    QCOMPARE(c.sentences[3].size(), size_t(99));  // cut at the last space inside the limit
    QVERIFY(c.sentences[3].rfind("word word", 0) == 0 && c.sentences[3].substr(94) == " word");
    QCOMPARE(c.sentences[5], std::string("last line without newline"));
    for (const auto& s : c.sentences) QVERIFY(utf8::is_valid(s));
    LATENT_VERIFY_CONTAINS(c.stats.summary(), "1 invalid_utf8");

    opt.skip_long = true;
    const Corpus skipped = parse_corpus(bytes, "crafted.txt", opt);
    QCOMPARE(skipped.stats.skipped.at(reason::kTooLong), size_t(2));
    QCOMPARE(skipped.stats.kept, size_t(4));
  }

  void truncationKeepsUtf8Whole() {
    std::string line;
    for (int i = 0; i < 50; ++i) line += "\xE4\xB8\xAD";  // 50 CJK characters, no spaces
    CorpusOptions opt;
    opt.max_chars = 7;
    const Corpus c = parse_corpus(line + "\n", "cjk.txt", opt);
    QCOMPARE(c.sentences.size(), size_t(1));
    QCOMPARE(utf8::length(c.sentences[0]), size_t(7));
    QVERIFY(utf8::is_valid(c.sentences[0]));
  }

  void jsonlCountsByReason() {
    const std::string bytes =
        "{\"text\": \"one  sentence\", \"id\": 1}\n"
        "{\"text\": 42}\n"
        "{\"other\": \"x\"}\n"
        "not json at all\n"
        "[\"an\", \"array\"]\n"
        "\n"
        "{\"text\": \"\\ud800 lone surrogate\"}\n"
        "{\"text\": \"raw \xFF byte\"}\n"
        "{\"text\": \"   \"}\n"
        "{\"text\": \"caf\\u00e9 \\u4e2d\"}\n";
    const Corpus c = parse_corpus(bytes, "data.jsonl");
    QVERIFY(c.format == CorpusFormat::Jsonl);
    QCOMPARE(c.stats.lines_read, size_t(10));
    QCOMPARE(c.sentences, (std::vector<std::string>{"one sentence", "caf\xC3\xA9 \xE4\xB8\xAD"}));
    QCOMPARE(c.stats.skipped.at(reason::kNoText), size_t(2));
    QCOMPARE(c.stats.skipped.at(reason::kBadJson), size_t(3));  // the lone surrogate too
    QCOMPARE(c.stats.skipped.at(reason::kEmpty), size_t(2));
    QCOMPARE(c.stats.skipped.at(reason::kInvalidUtf8), size_t(1));
    QCOMPARE(c.stats.kept + c.stats.skipped_total(), c.stats.lines_read);
    // Auto-detection by content when the extension says nothing.
    QVERIFY(parse_corpus(bytes, "data").format == CorpusFormat::Jsonl);
    QVERIFY(parse_corpus("hello\n", "data").format == CorpusFormat::Text);
  }

  // JSONL's other scalar fields, kept for the latent map's colours and the direction sets:
  // one value per kept sentence, "" where a line lacks the field, nested values ignored.
  void jsonlFieldsAreKeptPerSentence() {
    const std::string bytes =
        "{\"text\": \"good film\", \"label\": \"pos\", \"stars\": 5}\n"
        "not json\n"
        "{\"text\": \"bad film\", \"label\": \"neg\", \"meta\": {\"a\": 1}, \"ok\": false}\n"
        "{\"text\": \"no label\", \"stars\": 2.5}\n"
        "{\"label\": \"skipped: no text\"}\n";
    CorpusOptions opt;
    opt.keep_fields = true;
    const Corpus c = parse_corpus(bytes, "data.jsonl", opt);
    QCOMPARE(c.sentences.size(), size_t{3});
    QCOMPARE(c.field_names, (std::vector<std::string>{"label", "stars", "ok"}));
    QCOMPARE(c.field_values[0], (std::vector<std::string>{"pos", "neg", ""}));
    QCOMPARE(c.field_values[1], (std::vector<std::string>{"5", "", "2.5"}));
    QCOMPARE(c.field_values[2], (std::vector<std::string>{"", "false", ""}));
    QVERIFY(parse_corpus(bytes, "data.jsonl").field_names.empty());  // off by default
    std::string many;
    for (int i = 0; i < 40; ++i) many += ",\"f" + std::to_string(i) + "\": " + std::to_string(i);
    const Corpus wide = parse_corpus("{\"text\": \"x\"" + many + "}\n", "w.jsonl", opt);
    QCOMPARE(wide.field_names.size(), Corpus::kMaxFields);
  }

  void dedupAndMissingFile() {
    CorpusOptions opt;
    opt.deduplicate = true;
    const Corpus c = parse_corpus("a b\na  b\nc\n", "d.txt", opt);
    QCOMPARE(c.stats.kept, size_t(2));
    QCOMPARE(c.stats.skipped.at(reason::kDuplicate), size_t(1));
    const std::string err = test::errorOf([] { load_corpus("/nonexistent/corpus.txt"); });
    LATENT_VERIFY_CONTAINS(err, "/nonexistent/corpus.txt");
  }

  void histogram() {
    const auto h = length_histogram({"a", "a b c d e", "a b c d e f", std::string(200, 'a') + " b"}, 5, 2);
    QCOMPARE(h, (std::vector<size_t>{3, 1}));
  }

  void wordnetExtraction() {
    const std::string data =
        "  1 This software and database is being provided \"as is\"\n"
        "00022686 29 v 06 stimulate 0 018 @ 00019448 v 0000 | cause to be alert; \"Coffee and tea "
        "stimulate me\"; \"This  herbal infusion doesn't stimulate\"  \n"
        "00023244 29 v 02 de-energize 0 003 @ 00224901 v 0000 | deprive of energy  \n";
    const auto ex = wordnet_examples(data);
    QCOMPARE(ex, (std::vector<std::string>{"Coffee and tea stimulate me", "This herbal infusion doesn't stimulate"}));
    const auto split = split_corpus({"b a", "b  a", "c", "d", ""});
    QCOMPARE(split.train.size() + split.valid.size() + split.test.size(), size_t(3));
  }

  // The corpus the build extracted from wordnet-base: ~47k sentences, disjoint splits.
  void defaultCorpus() {
    const Corpus train = load_corpus(test::corpusFile("train.txt"));
    const Corpus valid = load_corpus(test::corpusFile("valid.txt"));
    const Corpus test_ = load_corpus(test::corpusFile("test.txt"));
    QVERIFY2(train.sentences.size() > 40000, std::to_string(train.sentences.size()).c_str());
    QVERIFY(valid.sentences.size() > 800 && valid.sentences.size() < 1300);
    QVERIFY(test_.sentences.size() > 800 && test_.sentences.size() < 1300);
    QCOMPARE(train.stats.skipped_total(), size_t(0));
    std::set<std::string> seen(train.sentences.begin(), train.sentences.end());
    QCOMPARE(seen.size(), train.sentences.size());
    for (const auto& s : valid.sentences) QVERIFY(seen.insert(s).second);
    for (const auto& s : test_.sentences) QVERIFY(seen.insert(s).second);
    // The split is a function of the sentence alone.
    for (const auto& s : valid.sentences) QCOMPARE(utf8::fnv1a64(s) % 47, uint64_t(0));
  }
};

QTEST_GUILESS_MAIN(TestCorpus)
#include "test_corpus.moc"
