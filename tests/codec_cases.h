// Shared by the tokenizer tests: a codec against a transformers fixture's cases (text,
// tokens, ids with the tokenizer's framing), and the codec saved into a folder and loaded
// back as the same kind giving the same ids.
#pragma once

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "text/codec.h"

namespace latent::test {

// Checks every case; returns how many there were (0 when a comparison failed).
inline int checkCodecCases(const latent::CodecPtr& c, const nlohmann::json& cases) {
  QTemporaryDir tmp;
  c->save(tmp.path().toStdString());
  const latent::CodecPtr back = latent::load_codec(tmp.path().toStdString());
  if (back->kind() != c->kind()) return 0;
  const latent::SpecialIds ids = c->specials();
  int n = 0;
  for (const auto& k : cases) {
    const std::string text = k["text"];
    if (c->pieces(text) != k["tokens"].get<std::vector<std::string>>()) {
      qWarning("tokens differ for \"%s\"", text.c_str());
      return 0;
    }
    std::vector<int> framed;
    if (ids.bos >= 0) framed.push_back(ids.bos);  // T5's encoder side has none
    for (int i : c->encode(text)) framed.push_back(i);
    framed.push_back(ids.eos);
    if (framed != k["ids"].get<std::vector<int>>() || back->encode(text) != c->encode(text)) {
      qWarning("ids differ for \"%s\"", text.c_str());
      return 0;
    }
    ++n;
  }
  return n;
}

}  // namespace latent::test
