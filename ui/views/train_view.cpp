#include "views/train_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QTimer>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>

#include "io/model_dir.h"
#include "model/config.h"
#include "model/designs.h"
#include "views/loss_plot.h"

namespace latent::ui {

namespace {

QSpinBox* spin(int lo, int hi, QWidget* parent) {
  auto* s = new QSpinBox(parent);
  s->setRange(lo, hi);
  return s;
}

QDoubleSpinBox* dspin(double lo, double hi, int decimals, double step, QWidget* parent) {
  auto* s = new QDoubleSpinBox(parent);
  s->setRange(lo, hi);
  s->setDecimals(decimals);
  s->setSingleStep(step);
  return s;
}

// "width x layers heads h": three spin boxes in a row.
QHBoxLayout* sizeRow(QSpinBox** hidden, QSpinBox** layers, QSpinBox** heads, QWidget* parent) {
  *hidden = spin(8, 4096, parent);
  *layers = spin(1, 48, parent);
  *heads = spin(1, 64, parent);
  auto* row = new QHBoxLayout;
  row->addWidget(*hidden);
  row->addWidget(new QLabel(QObject::tr("x"), parent));
  row->addWidget(*layers);
  row->addWidget(new QLabel(QObject::tr("heads"), parent));
  row->addWidget(*heads);
  return row;
}

}  // namespace

TrainView::TrainView(QWidget* parent) : QWidget(parent) {
  auto* settings = new QWidget(this);
  auto* left = new QVBoxLayout(settings);

  // Corpus: the one loaded in the Corpus tab.
  auto* corpusBox = new QGroupBox(tr("Corpus"), settings);
  auto* corpusLayout = new QVBoxLayout(corpusBox);
  corpusLabel_ = new QLabel(tr("no corpus loaded"), corpusBox);
  corpusLabel_->setWordWrap(true);
  corpusLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* chooseCorpus = new QPushButton(tr("Choose corpus..."), corpusBox);
  connect(chooseCorpus, &QPushButton::clicked, this, &TrainView::chooseCorpus);
  corpusLayout->addWidget(corpusLabel_);
  corpusLayout->addWidget(chooseCorpus, 0, Qt::AlignLeft);
  left->addWidget(corpusBox);

  // Start from: a pretrained or earlier model instead of random weights.
  auto* initBox = new QGroupBox(tr("Start from (optional)"), settings);
  auto* initLayout = new QVBoxLayout(initBox);
  auto* initRow = new QHBoxLayout;
  init_ = new QLineEdit(initBox);
  init_->setObjectName("initModel");
  init_->setPlaceholderText(tr("empty: random weights, a tokenizer trained on the corpus"));
  auto* initBrowse = new QPushButton(tr("..."), initBox);
  connect(initBrowse, &QPushButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, tr("Start from model folder"), init_->text());
    if (!d.isEmpty()) init_->setText(d);
  });
  initRow->addWidget(init_);
  initRow->addWidget(initBrowse);
  initLayout->addLayout(initRow);
  auto* initHint = new QLabel(tr("A model folder from latent-cli import-hf or import-dmlp, or a trained one: "
                                 "its shapes, tokenizers and weights are used."),
                              initBox);
  initHint->setWordWrap(true);
  initHint->setStyleSheet("color: palette(mid);");
  initLayout->addWidget(initHint);
  left->addWidget(initBox);

  // Configuration: a preset, then the fields people change most, then JSON for the rest.
  auto* configBox = new QGroupBox(tr("Configuration"), settings);
  auto* form = new QFormLayout(configBox);
  preset_ = new QComboBox(configBox);
  for (const auto& n : preset_names()) preset_->addItem(QString::fromStdString(n));
  form->addRow(tr("Preset"), preset_);
  encArch_ = new QComboBox(configBox);
  encArch_->setObjectName("encoderFamily");
  for (const auto& n : encoder_family_names()) encArch_->addItem(QString::fromStdString(n));
  decArch_ = new QComboBox(configBox);
  decArch_->setObjectName("decoderFamily");
  for (const auto& n : decoder_family_names()) decArch_->addItem(QString::fromStdString(n));
  auto* archRow = new QWidget(configBox);
  auto* archLayout = new QHBoxLayout(archRow);
  archLayout->setContentsMargins(0, 0, 0, 0);
  archLayout->addWidget(new QLabel(tr("encoder"), archRow));
  archLayout->addWidget(encArch_, 1);
  archLayout->addWidget(new QLabel(tr("decoder"), archRow));
  archLayout->addWidget(decArch_, 1);
  archRow->setToolTip(tr("model.encoder.arch / model.decoder.arch: latent-cli models lists the families"));
  form->addRow(tr("Model families"), archRow);
  design_ = new QComboBox(configBox);
  design_->setObjectName("design");
  design_->addItem(tr("as the preset and overrides say"), QString());
  for (const auto& d : designs()) design_->addItem(QString::fromStdString(d.title), QString::fromStdString(d.name));
  design_->setToolTip(tr("A seed design's posterior, KL schedule, regulariser and latent injection, applied over the "
                         "form and before the overrides (latent-cli train --design; docs/DESIGNS.md)"));
  form->addRow(tr("Latent design"), design_);
  latentDim_ = spin(1, 4096, configBox);
  form->addRow(tr("Latent size"), latentDim_);
  form->addRow(tr("Encoder width x layers"), sizeRow(&encHidden_, &encLayers_, &encHeads_, configBox));
  form->addRow(tr("Decoder width x layers"), sizeRow(&decHidden_, &decLayers_, &decHeads_, configBox));
  vocab_ = spin(16, 100000, configBox);
  form->addRow(tr("Vocabulary (max pieces)"), vocab_);
  diffusionSteps_ = spin(1, 10000, configBox);
  form->addRow(tr("Diffusion steps T"), diffusionSteps_);
  alphaDdpm_ = dspin(0, 1000, 3, 0.1, configBox);
  form->addRow(tr("Diffusion loss weight"), alphaDdpm_);
  wordDropout_ = dspin(0, 0.95, 2, 0.05, configBox);
  form->addRow(tr("Word dropout"), wordDropout_);
  steps_ = spin(0, 10000000, configBox);
  steps_->setSpecialValueText(tr("by epochs (train.epochs)"));
  form->addRow(tr("Steps"), steps_);
  batch_ = spin(1, 4096, configBox);
  form->addRow(tr("Batch size"), batch_);
  lr_ = dspin(1e-7, 1.0, 7, 1e-4, configBox);
  form->addRow(tr("Learning rate"), lr_);
  evalEvery_ = spin(0, 1000000, configBox);
  evalEvery_->setSpecialValueText(tr("only at the end"));
  form->addRow(tr("Evaluate every"), evalEvery_);
  dmlpOnly_ = new QCheckBox(tr("Train only what DMLP trains"), configBox);
  dmlpOnly_->setObjectName("dmlpTrainable");
  dmlpOnly_->setToolTip(tr("train.trainable = dmlp: the latent projections, the token embeddings, the decoder's first "
                           "block, the encoder and the noise network; the pretrained GPT-2 blocks stay frozen."));
  form->addRow(QString(), dmlpOnly_);
  seed_ = spin(0, 2147483647, configBox);
  form->addRow(tr("Seed"), seed_);
  device_ = new QComboBox(configBox);
  device_->addItem(tr("CPU"), "cpu");
  form->addRow(tr("Device"), device_);
  threads_ = spin(0, kMaxThreads, configBox);
  threads_->setSpecialValueText(tr("all cores"));
  form->addRow(tr("CPU threads"), threads_);
  overrides_ = new QPlainTextEdit(configBox);
  overrides_->setObjectName("overrides");
  overrides_->setPlaceholderText(tr("More settings as JSON, applied last, e.g.\n{\"model\": {\"posterior\": \"learned\"}}"));
  overrides_->setMaximumHeight(70);
  form->addRow(tr("Overrides"), overrides_);
  left->addWidget(configBox);

  auto* outBox = new QGroupBox(tr("Run folder"), settings);
  auto* outLayout = new QVBoxLayout(outBox);
  auto* outRow = new QHBoxLayout;
  outDir_ = new QLineEdit(defaultOutDir(), outBox);
  auto* browse = new QPushButton(tr("..."), outBox);
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, tr("Run folder"), outDir_->text());
    if (!d.isEmpty()) outDir_->setText(d);
  });
  outRow->addWidget(outDir_);
  outRow->addWidget(browse);
  outLayout->addLayout(outRow);
  resume_ = new QCheckBox(tr("Resume the run in this folder (its last/ checkpoint)"), outBox);
  outLayout->addWidget(resume_);
  auto* processRow = new QHBoxLayout;
  separate_ = new QCheckBox(tr("In a separate process, as"), outBox);
  separate_->setToolTip(tr("latent-cli train runs apart from the window and the window follows its folder: a crash "
                           "there leaves the window and its model intact, and closing the window can leave it running"));
  processes_ = new QSpinBox(outBox);
  processes_->setRange(1, 64);
  processes_->setSuffix(tr(" data-parallel process(es)"));
  processes_->setEnabled(false);
  connect(separate_, &QCheckBox::toggled, processes_, &QWidget::setEnabled);
  processRow->addWidget(separate_);
  processRow->addWidget(processes_, 1);
  outLayout->addLayout(processRow);
  left->addWidget(outBox);

  validation_ = new QLabel(settings);
  validation_->setWordWrap(true);
  left->addWidget(validation_);
  auto* buttons = new QHBoxLayout;
  startButton_ = new QPushButton(tr("Start"), settings);
  pauseButton_ = new QPushButton(tr("Pause"), settings);
  stopButton_ = new QPushButton(tr("Stop"), settings);
  buttons->addWidget(startButton_);
  buttons->addWidget(pauseButton_);
  buttons->addWidget(stopButton_);
  left->addLayout(buttons);
  left->addStretch(1);

  auto* scroll = new QScrollArea(this);
  scroll->setWidget(settings);
  scroll->setWidgetResizable(true);
  scroll->setMinimumWidth(400);

  plot_ = new LossPlot(this);
  log_ = new QPlainTextEdit(this);
  log_->setObjectName("log");
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(5000);
  log_->setPlaceholderText(tr("Training log: evaluation BLEU, reconstructions and samples appear here."));
  auto* right = new QSplitter(Qt::Vertical, this);
  right->addWidget(plot_);
  right->addWidget(log_);
  right->setStretchFactor(0, 3);
  right->setStretchFactor(1, 1);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(scroll);
  split->addWidget(right);
  split->setStretchFactor(1, 1);
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(split);

  validateTimer_ = new QTimer(this);
  validateTimer_->setSingleShot(true);
  validateTimer_->setInterval(150);
  connect(validateTimer_, &QTimer::timeout, this, &TrainView::validateNow);
  auto later = [this] {
    if (!filling_) validateTimer_->start();
  };
  for (auto* s : findChildren<QSpinBox*>()) connect(s, &QSpinBox::valueChanged, this, later);
  for (auto* s : findChildren<QDoubleSpinBox*>()) connect(s, &QDoubleSpinBox::valueChanged, this, later);
  connect(overrides_, &QPlainTextEdit::textChanged, this, later);
  connect(outDir_, &QLineEdit::textChanged, this, later);
  connect(resume_, &QCheckBox::toggled, this, later);
  connect(dmlpOnly_, &QCheckBox::toggled, this, later);
  connect(encArch_, &QComboBox::currentTextChanged, this, later);
  connect(decArch_, &QComboBox::currentTextChanged, this, later);
  connect(design_, &QComboBox::currentIndexChanged, this, later);
  connect(init_, &QLineEdit::textChanged, this, [this] { initModelChanged(); });
  connect(preset_, &QComboBox::currentTextChanged, this, [this](const QString& name) { setPreset(name); });
  connect(startButton_, &QPushButton::clicked, this, &TrainView::start);
  connect(pauseButton_, &QPushButton::clicked, this, [this] {
    if (paused_) Q_EMIT resumeRequested();
    else Q_EMIT pauseRequested();
  });
  connect(stopButton_, &QPushButton::clicked, this, &TrainView::stopRequested);

  setPreset("small");
  setRunning(false);
}

QString TrainView::defaultOutDir() const {
  const QString base = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
  return QDir(base).filePath("runs/run-" + QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss"));
}

void TrainView::setDevices(const QStringList& ids, const QStringList& labels) {
  device_->clear();
  for (int i = 0; i < ids.size(); ++i) device_->addItem(i < labels.size() ? labels[i] : ids[i], ids[i]);
}

void TrainView::setCorpus(const QString& path, const QString& summary) {
  corpusPath_ = path;
  corpusLabel_->setText(QString("<b>%1</b><br>%2").arg(path.toHtmlEscaped(), summary.toHtmlEscaped()));
  validateTimer_->start();
}

namespace {
// The configuration of the model to start from (a model folder, or a run folder's best/
// or last/, as load_model resolves it); errors name the folder or file.
Config startingConfig(const QString& dir) {
  try {
    const std::string d = io::resolve_model_dir(dir.toStdString());
    return config_from_json(io::read_model_config(d), io::join(d, io::files::kConfig));
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("Start from: ") + e.what());
  }
}
}  // namespace

void TrainView::setPreset(const QString& name) {
  Config c;
  try {
    c = preset(name.toStdString());
  } catch (const std::exception& e) {
    validation_->setText(QString::fromStdString(e.what()));
    return;
  }
  filling_ = true;
  if (preset_->currentText() != name) {
    const QSignalBlocker block(preset_);  // no nested setPreset from currentTextChanged
    preset_->setCurrentText(name);
  }
  encArch_->setCurrentText(QString::fromStdString(c.model.encoder.arch));
  decArch_->setCurrentText(QString::fromStdString(c.model.decoder.arch));
  latentDim_->setValue(c.model.latent_dim);
  encHidden_->setValue(c.model.encoder.hidden);
  encLayers_->setValue(c.model.encoder.layers);
  encHeads_->setValue(c.model.encoder.heads);
  decHidden_->setValue(c.model.decoder.hidden);
  decLayers_->setValue(c.model.decoder.layers);
  decHeads_->setValue(c.model.decoder.heads);
  vocab_->setValue(c.model.tokenizer.vocab_size);
  diffusionSteps_->setValue(c.model.diffusion.steps);
  alphaDdpm_->setValue(c.model.alpha_ddpm);
  wordDropout_->setValue(c.model.word_dropout);
  steps_->setValue(static_cast<int>(c.train.steps));
  batch_->setValue(c.train.batch_size);
  lr_->setValue(c.train.lr);
  evalEvery_->setValue(c.train.eval_every);
  seed_->setValue(static_cast<int>(c.train.seed));
  threads_->setValue(c.train.threads);
  dmlpOnly_->setChecked(c.train.trainable == "dmlp");
  filling_ = false;
  if (!initModel().isEmpty()) initModelChanged();  // the starting model's training settings win
  validateNow();
}

void TrainView::initModelChanged() {
  if (initModel().isEmpty() && hadInit_) {
    // Back to training from scratch: the starting model's settings (lr, DMLP's trainable
    // set...) must not stay in the form.
    hadInit_ = false;
    setPreset(preset_->currentText());
  }
  // The starting model fixes the shapes: those fields do not apply.
  for (QWidget* f : std::initializer_list<QWidget*>{encArch_, decArch_, design_, latentDim_, encHidden_, encLayers_, encHeads_, decHidden_, decLayers_,
                                                    decHeads_, vocab_, diffusionSteps_, alphaDdpm_, wordDropout_})
    f->setEnabled(initModel().isEmpty());
  if (!initModel().isEmpty()) {
    try {
      // Its own training settings (an imported model carries DMLP's) fill the form; the
      // run length stays the user's.
      const Config start = startingConfig(initModel());
      const TrainConfig& t = start.train;
      hadInit_ = true;
      filling_ = true;
      encArch_->setCurrentText(QString::fromStdString(start.model.encoder.arch));  // shown, not editable
      decArch_->setCurrentText(QString::fromStdString(start.model.decoder.arch));
      batch_->setValue(t.batch_size);
      lr_->setValue(t.lr);
      evalEvery_->setValue(t.eval_every);
      seed_->setValue(static_cast<int>(t.seed));
      dmlpOnly_->setChecked(t.trainable == "dmlp");
      filling_ = false;
    } catch (const std::exception&) {
      filling_ = false;  // validateNow() reports it
    }
  }
  validateTimer_->start();
}



void TrainView::setSteps(int steps) { steps_->setValue(steps); validateNow(); }
void TrainView::setOutDir(const QString& dir) { outDir_->setText(dir); validateNow(); }
QString TrainView::outDir() const { return outDir_->text().trimmed(); }
void TrainView::setInitModel(const QString& dir) { init_->setText(dir); validateNow(); }
QString TrainView::initModel() const { return init_->text().trimmed(); }

QString TrainView::validationMessage() const { return validation_->text(); }
QString TrainView::logText() const { return log_->toPlainText(); }

QString TrainView::configJson(QString* error) const {
  try {
    // From scratch: the preset and the form. Started from a model: that model's
    // configuration (its train section is the base; its model section is what trains).
    const bool from_model = !initModel().isEmpty();
    Config c = from_model ? startingConfig(initModel()) : preset(preset_->currentText().toStdString());
    if (!from_model) {
      c.model.encoder = with_encoder_arch(c.model.encoder, encArch_->currentText().toStdString(), "Encoder family");
      c.model.decoder = with_decoder_arch(c.model.decoder, decArch_->currentText().toStdString(), "Decoder family");
      c.model.latent_dim = latentDim_->value();
      c.model.encoder.hidden = encHidden_->value();
      c.model.encoder.layers = encLayers_->value();
      c.model.encoder.heads = encHeads_->value();
      c.model.decoder.hidden = decHidden_->value();
      c.model.decoder.layers = decLayers_->value();
      c.model.decoder.heads = decHeads_->value();
      c.model.tokenizer.vocab_size = vocab_->value();
      c.model.diffusion.steps = diffusionSteps_->value();
      c.model.alpha_ddpm = alphaDdpm_->value();
      c.model.word_dropout = wordDropout_->value();
      if (const QString d = design_->currentData().toString(); !d.isEmpty()) {
        c.train.steps = steps_->value();  // Optimus's cycle spans the run
        c = with_design(c, d.toStdString());
      }
    }
    c.train.steps = steps_->value();
    c.train.batch_size = batch_->value();
    c.train.lr = lr_->value();
    c.train.eval_every = evalEvery_->value();
    c.train.seed = static_cast<uint64_t>(seed_->value());
    c.train.threads = threads_->value();
    // Unchecked keeps a starting model's own set (the pretrained recipe's "latent").
    if (dmlpOnly_->isChecked()) c.train.trainable = "dmlp";
    else if (c.train.trainable == "dmlp") c.train.trainable = "all";
    const QString extra = overrides_->toPlainText().trimmed();
    if (!extra.isEmpty()) {
      const auto j = nlohmann::json::parse(extra.toStdString(), nullptr, false);
      if (j.is_discarded() || !j.is_object()) throw std::runtime_error("Overrides: not a JSON object");
      c = merge_config(c, j, "Overrides");
    }
    validate(c, "configuration");
    return QString::fromStdString(config_to_json(c).dump(2));
  } catch (const std::exception& e) {
    if (error) *error = QString::fromStdString(e.what());
    return {};
  }
}

void TrainView::validateNow() {
  QString error;
  const QString json = configJson(&error);
  if (json.isEmpty()) {
    valid_ = false;
  } else if (corpusPath_.isEmpty()) {
    valid_ = false;
    error = tr("Choose a corpus first.");
  } else if (outDir().isEmpty()) {
    valid_ = false;
    error = tr("Choose a run folder.");
  } else if (!initModel().isEmpty() && resume_->isChecked()) {
    valid_ = false;
    error = tr("Resume continues the run folder's own model: clear Start from, or untick Resume.");
  } else if (!resume_->isChecked() && QDir(outDir() + "/last").exists()) {
    valid_ = false;  // never overwrite an earlier run's checkpoints
    error = tr("%1 already holds a run: tick Resume to continue it, or choose another folder.").arg(outDir());
  } else if (resume_->isChecked() && !QDir(outDir() + "/last").exists()) {
    valid_ = false;
    error = tr("Nothing to resume: %1 has no last/ checkpoint.").arg(outDir());
  } else {
    valid_ = true;
  }
  validation_->setText(valid_ ? tr("Configuration is valid.") : error);
  validation_->setStyleSheet(valid_ ? "color: #2e7d32;" : "color: #c62828;");
  startButton_->setEnabled(valid_ && !running_);
}

void TrainView::start() {
  validateNow();
  if (!valid_ || running_) return;
  TrainRequest r;
  r.corpusPath = corpusPath_;
  r.outDir = outDir();
  QString error;
  r.configJson = configJson(&error);
  if (r.configJson.isEmpty()) {  // changed on disk since the last validation
    validation_->setText(error);
    return;
  }
  r.device = device_->currentData().toString();
  r.resume = resume_->isChecked();
  r.initModel = initModel();
  r.separateProcess = separate_->isChecked();
  r.processes = processes_->value();
  plot_->clear();
  log_->clear();
  Q_EMIT startRequested(r);
}

void TrainView::setRunning(bool running) {
  running_ = running;
  if (!running) paused_ = false;
  for (auto* w : findChildren<QGroupBox*>()) w->setEnabled(!running);
  startButton_->setEnabled(!running && valid_);
  pauseButton_->setEnabled(running);
  pauseButton_->setText(paused_ ? tr("Resume") : tr("Pause"));
  stopButton_->setEnabled(running);
  // A finished run's folder is taken: suggest a fresh one for the next run.
  if (!running && !resume_->isChecked() && QDir(outDir() + "/last").exists()) outDir_->setText(defaultOutDir());
}

void TrainView::setRunningElsewhere(bool running) {
  setRunning(running);
  if (running) pauseButton_->setEnabled(false);
}

void TrainView::setPaused(bool paused) {
  paused_ = paused;
  pauseButton_->setText(paused ? tr("Resume") : tr("Pause"));
}

void TrainView::addPoints(const QVector<TrainPoint>& points) {
  if (!points.isEmpty()) plot_->addTrainPoints(points);
}

void TrainView::addEval(const EvalPoint& e) {
  plot_->addEvalPoint(e);
  QStringList lines;
  lines << tr("eval step %1: reconstruction BLEU %2 on %3 held-out sentences%4")
               .arg(e.step).arg(e.bleu, 0, 'f', 2).arg(e.n).arg(e.best ? tr(" (best)") : QString());
  for (const auto& r : e.reconstructions) lines << "  " + r;
  for (const auto& s : e.samples) lines << "  sample: " + s;
  appendLog(lines);
}

void TrainView::clearRun() {
  plot_->clear();
  log_->clear();
}

void TrainView::appendLog(const QStringList& lines) {
  for (const auto& l : lines) log_->appendPlainText(l);
}

}  // namespace latent::ui
