// The one place that includes SQLCipher's sqlite3.h. SQLITE_HAS_CODEC must be defined
// first, or sqlite3_key/sqlite3_rekey are not declared (platform notes).
#pragma once

#ifndef SQLITE_HAS_CODEC
#define SQLITE_HAS_CODEC 1
#endif
#include <sqlcipher/sqlite3.h>
