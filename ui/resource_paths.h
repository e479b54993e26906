// Where the studio finds its bundled resources (the default corpus, later the default model).
#pragma once

#include <QString>

namespace latent::ui {

// First of: $LATENT_RESOURCE_DIR, <binary>/../resources (build tree),
// <binary>/../share/latent-studio (installed). Empty when none exists.
QString resourceDir();

// <resources>/corpus/train.txt, or empty when it is missing.
QString defaultCorpusPath();

// <resources>/models/default (the embedded model), or empty when it has no config.json.
QString defaultModelPath();

}  // namespace latent::ui
