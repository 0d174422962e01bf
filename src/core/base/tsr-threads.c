/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-threads.h"

gboolean
tsr_debug_threads (void)
{
  static gsize checked = 0;
  static gboolean enabled = FALSE;

  if (g_once_init_enter (&checked))
    {
      const char *debug = g_getenv ("TESSERA_DEBUG");
      g_auto(GStrv) keys = debug ? g_strsplit_set (debug, ",: ", -1) : NULL;

      enabled = keys != NULL && g_strv_contains ((const char * const *) keys, "threads");
      g_once_init_leave (&checked, 1);
    }
  return enabled;
}

void
tsr_assert_worker_thread_at (const char *where)
{
  if (tsr_debug_threads () && g_main_context_is_owner (g_main_context_default ()))
    g_critical ("%s blocks and runs on the main thread: run it in a worker", where);
}
