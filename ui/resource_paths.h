// Where the studio finds its bundled resources (the default corpus, the embedded model) and
// the pretrained default that set-up assembles outside the clone.
#pragma once

#include <QString>

namespace latent::ui {

// First of: $LATENT_RESOURCE_DIR, <binary>/../resources (build tree),
// <binary>/../share/latent-studio (installed). Empty when none exists.
QString resourceDir();

// <resources>/corpus/train.txt, or empty when it is missing.
QString defaultCorpusPath();

// <resources>/models/default (the small from-scratch model embedded in the repository), or
// empty when it has no config.json.
QString defaultModelPath();

// $LATENT_CACHE, else ~/.cache/latent-studio: what packaging/bootstrap.sh keeps outside the clone.
QString cacheDir();

// <resources>/models/pretrained: the pretrained default's recipe (config, base.json, model
// card; the build tree copies these, not the delta itself). Empty when there is no base.json.
QString pretrainedDeltaDir();

// <cache>/models/default-pretrained, where packaging/assemble_default.sh rebuilds the
// pretrained default from the PyPI packages plus the delta. Returned whether or not it exists.
QString pretrainedModelPath();

// What the window opens at start.
struct StartupModel {
  QString path;      // the folder to open; empty when there is none
  QString fallback;  // opened instead if `path` fails to load; empty when there is none
  QString note;      // why the choice is not the pretrained default, for the user; may be empty
};
// The last model used if it still exists and is not one of the two defaults; else the
// pretrained default when it is assembled,
// with the embedded model as its fallback; else the embedded model, with a note saying why
// when a pretrained default is shipped but not assembled.
StartupModel startupModel(const QString& lastModel);

}  // namespace latent::ui
