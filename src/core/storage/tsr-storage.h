/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The pool Tessera makes when a VM needs one and none is named. */
#define TSR_DEFAULT_POOL       "tessera"
#define TSR_DEFAULT_POOL_PATH  "/var/lib/tessera/images"
