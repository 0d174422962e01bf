/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness for the parsers of what a person or another program
 * hands Tessera besides appliances: the install-media syntax and the first
 * bytes of a media file, sizes (`--property disk_size=…`, `qvm-prefs VM
 * memory …`), names and MACs, and the domain XML a VM is read from (its
 * metadata may have been written by anyone with access to libvirt). The
 * first byte picks the parser. Built like fuzz-ovf (tests/fuzz/meson.build).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "tsr-creator.h"
#include "tsr-media.h"
#include "tsr-validate.h"
#include "tsr-vm-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = NULL;
  guint8 which;

  if (size < 1)
    return 0;
  which = data[0] % 5;
  data++;
  size--;
  text = g_strndup ((const char *) data, size);

  switch (which)
    {
    case 0:
      {
        g_autoptr(TsrMedia) media = tsr_media_parse (text, NULL);

        if (media != NULL)
          g_assert (media->spec != NULL);
        break;
      }
    case 1:
      (void) tsr_media_sniff (data, size);
      break;
    case 2:
      {
        guint64 out = 0;

        (void) tsr_parse_size (text, 1024 * 1024, &out, NULL);
        break;
      }
    case 3:
      {
        TsrVmConfig *config = tsr_vm_config_parse (text, "/nonexistent", NULL);

        if (config != NULL)
          tsr_vm_config_free (config);
        break;
      }
    default:
      (void) tsr_validate_vm_name (text, NULL);
      (void) tsr_validate_mac (text, NULL);
      break;
    }
  return 0;
}
