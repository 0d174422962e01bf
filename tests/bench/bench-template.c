/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-template URI prepare VM   an AppVM's start overhead: its fresh root
 *                                 and volatile overlays (and the template's
 *                                 settling), without starting QEMU
 * bench-template URI settle TPL   a halted template's commit of its last
 *                                 session (and the pruning that follows)
 *
 * Each prints "seconds: S" for the core's step alone. Used by
 * bench-template.sh.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection.h"
#include "tsr-template.h"

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  virConnectPtr conn;
  virDomainPtr dom;
  gint64 start;
  gboolean ok;

  if (argc != 4 || (strcmp (argv[2], "prepare") != 0 && strcmp (argv[2], "settle") != 0))
    {
      g_printerr ("usage: %s URI prepare VM | URI settle TEMPLATE\n", argv[0]);
      return 2;
    }
  tsr_init ();
  if (!(conn = virConnectOpen (argv[1])) || !(dom = virDomainLookupByName (conn, argv[3])))
    {
      g_printerr ("%s: %s\n", argv[3], virGetLastErrorMessage ());
      return 1;
    }

  start = g_get_monotonic_time ();
  if (strcmp (argv[2], "prepare") == 0)
    ok = tsr_template_prepare_start_sync (dom, &error);
  else
    ok = tsr_template_settle_sync (dom, NULL, NULL, NULL, &error);
  if (!ok)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  printf ("seconds: %.4f\n", (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  virDomainFree (dom);
  virConnectClose (conn);
  return 0;
}
