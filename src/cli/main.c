/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-cli.h"

int
main (int    argc,
      char **argv)
{
  return tsr_cli_main (argc, argv);
}
