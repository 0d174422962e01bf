/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Runs fuzz-ovf.c's entry point over files and folders of inputs, for
 * compilers without libFuzzer and to replay a crash: fuzz-replay PATH…
 */
#include "config.h"

#include <stdint.h>
#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static guint
replay (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len;
  guint count = 0;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          count += replay (child);
        }
      return count;
    }

  if (!g_file_get_contents (path, &contents, &len, NULL))
    g_error ("cannot read %s", path);
  LLVMFuzzerTestOneInput ((const uint8_t *) contents, len);
  return 1;
}

int
main (int    argc,
      char **argv)
{
  guint count = 0;

  for (int i = 1; i < argc; i++)
    count += replay (argv[i]);
  if (count == 0)
    g_error ("no inputs");
  g_print ("1..1\nok 1 - %u inputs replayed\n", count);
  return 0;
}
