/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TsrApplication) app = tsr_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
