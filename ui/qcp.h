// QCustomPlot for code built with QT_NO_KEYWORDS (ui/ is, so torch headers can share a
// translation unit with Qt): qcustomplot.h still spells signals/slots/foreach.
#pragma once

#define signals Q_SIGNALS
#define slots Q_SLOTS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef foreach
