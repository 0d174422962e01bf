/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-clone URI network NAME          make sure the isolated network NAME exists
 * bench-clone URI clone SRC DST [--linked]
 *
 * The clone prints "seconds: S" for the core's clone operation alone (from
 * the call to its result; connecting and loading the list are not counted)
 * and "name: DST". Used by bench-clone.sh.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tsr-cloner.h"
#include "tsr-connection.h"

static void
store_result_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(TsrConnection) conn = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  if (argc < 4)
    {
      g_printerr ("usage: %s URI network NAME | URI clone SRC DST [--linked]\n", argv[0]);
      return 2;
    }

  tsr_init ();
  conn = tsr_connection_new (argv[1]);
  tsr_connection_open_async (conn, NULL, store_result_cb, &result);
  if (!tsr_connection_open_finish (conn, wait_for (&result), &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  g_clear_object (&result);

  if (strcmp (argv[2], "network") == 0)
    {
      tsr_connection_ensure_network_async (conn, argv[3], TRUE, NULL, store_result_cb, &result);
      if (!tsr_connection_ensure_network_finish (conn, wait_for (&result), &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
    }
  else if (strcmp (argv[2], "clone") == 0 && argc >= 5)
    {
      g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new (argv[4]);
      g_autofree char *name = NULL;
      TsrVm *source = tsr_connection_lookup_vm (conn, argv[3]);
      gint64 start;

      if (source == NULL)
        {
          g_printerr ("no VM named %s\n", argv[3]);
          return 1;
        }
      spec->linked = argc > 5 && strcmp (argv[5], "--linked") == 0;
      start = g_get_monotonic_time ();
      tsr_connection_clone_vm_async (conn, source, spec, NULL, NULL, NULL, store_result_cb, &result);
      name = tsr_connection_clone_vm_finish (conn, wait_for (&result), NULL, &error);
      if (name == NULL)
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      printf ("seconds: %.3f\nname: %s\n",
              (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC, name);
    }
  else
    {
      g_printerr ("unknown command %s\n", argv[2]);
      return 2;
    }

  g_clear_object (&result);
  tsr_connection_close (conn);
  return 0;
}
