/* SPDX-License-Identifier: BSD-3-Clause */
/* The one log type of Tern's libraries, registered at load time. */
#include "tern_log.h"

RTE_LOG_REGISTER_DEFAULT(tern_logtype, INFO);
