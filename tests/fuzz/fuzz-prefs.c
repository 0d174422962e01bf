/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness for the qvm-prefs value parsers and the disk-image
 * header prober. The first byte picks the target:
 *
 * - even: lines "NAME=VALUE" (or "NAME" alone: a reset, as `qvm-prefs -D`)
 *   applied to a VM's settings as qvm-prefs and the Settings window do, then
 *   written into its definition, which is read back: the value parsers, the
 *   writer and the reader must agree, whatever the values;
 * - odd: the bytes as the start and the end of a disk image
 *   (tsr_image_sniff), and as a file name (tsr_image_format_for_name).
 *
 * Built like fuzz-ovf (tests/fuzz/meson.build).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-image-sniff.h"
#include "tsr-rules.h"
#include "tsr-settings-private.h"
#include "tsr-validate.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static const char base_xml[] =
  "<domain type='kvm'><name>fuzz-vm</name>"
  "<uuid>6b1e5c2a-0000-4000-8000-00000000f022</uuid>"
  "<memory unit='KiB'>819200</memory><currentMemory unit='KiB'>409600</currentMemory>"
  "<vcpu>2</vcpu>"
  "<metadata><tessera:vm xmlns:tessera='https://tessera.invalid/xmlns/vm/1.0'>"
  "<tessera:label>green</tessera:label><tessera:class>StandaloneVM</tessera:class>"
  "</tessera:vm></metadata>"
  "<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>"
  "<devices><serial type='pty'/>"
  "<interface type='network'><mac address='52:54:00:00:f0:22'/>"
  "<source network='tessera'/></interface></devices></domain>";

static void
fuzz_prefs (const char        *text,
            const TsrHostCaps *caps)
{
  g_autoptr(Prefs) old = tsr_settings_prefs_parse (base_xml, "/nonexistent", NULL);
  g_autoptr(Prefs) p = tsr_settings_prefs_copy (old);
  g_autoptr(Prefs) back = NULL;
  g_auto(GStrv) lines = g_strsplit (text, "\n", 16);
  xmlDocPtr doc;
  xmlChar *written = NULL;
  int len = 0;

  g_assert (old != NULL);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *eq = strchr (lines[i], '=');

      if (eq != NULL)
        *eq = '\0';
      /* A refused value leaves the settings as they were before it. */
      (void) tsr_settings_prefs_apply (p, lines[i], eq ? eq + 1 : NULL, NULL);
    }

  /* What the rules refuse is never written (tsr-settings-write.c checks
   * them first); a host whose RAM is unknown (0) has a ceiling too.
   */
  if (!tsr_validate_vm_name (p->name, NULL) || *p->kernel != '\0' ||
      !tsr_rules_check_resources (p->memory, p->maxmem, p->vcpus, p->kernelopts, caps, NULL))
    return;

  doc = xmlReadMemory (base_xml, sizeof base_xml - 1, "d.xml", NULL, XML_PARSE_NONET);
  g_assert (doc != NULL);
  tsr_settings_prefs_write_xml (doc, old, p, "/nonexistent");
  xmlDocDumpMemory (doc, &written, &len);
  xmlFreeDoc (doc);

  back = tsr_settings_prefs_parse ((const char *) written, "/nonexistent", NULL);
  xmlFree (written);
  g_assert (back != NULL);
  g_assert (back->memory == p->memory);
  g_assert (back->vcpus == p->vcpus || p->vcpus == 0);
  g_assert (back->maxmem == p->maxmem || (p->maxmem <= p->memory && back->maxmem == 0));
  /* A network name that is not text is refused later: no such network. */
  if (g_utf8_validate (p->netvm, -1, NULL) && strpbrk (p->netvm, "\t\r") == NULL)
    g_assert_cmpstr (back->netvm, ==, p->netvm);
  g_assert (back->debug == p->debug);
}

static void
fuzz_image (const uint8_t *data,
            size_t         size)
{
  g_autofree char *name = g_strndup ((const char *) data, MIN (size, 255));

  (void) tsr_image_sniff (data, MIN (size, 1024), size >= 512 ? data + size - 512 : NULL,
                          size >= 512 ? 512 : 0);
  (void) tsr_image_sniff (data, size, NULL, 0);
  (void) tsr_image_format_for_name (name);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  guint8 which;

  if (size < 1)
    return 0;
  which = data[0];
  data++;
  size--;

  if (which % 2 == 0)
    {
      g_autofree char *text = g_strndup ((const char *) data, MIN (size, 4096));
      TsrHostCaps caps = { .hvm = TRUE, .host_cpus = 8,
                           .host_memory = which & 2 ? 65536 : 0 };

      fuzz_prefs (text, &caps);
    }
  else
    fuzz_image (data, size);
  return 0;
}
