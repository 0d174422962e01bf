/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Importing appliances and disk images: the tar, zip and OVF readers on
 * inputs made here byte by byte (good ones and every kind of bad one), the
 * header sniffer, inspection of real images made with qemu-img, and the
 * import's rollback on libvirt's test driver.
 */
#include "config.h"

#include <unistd.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>

#include "tsr-appliance-name.h"
#include "tsr-archive.h"
#include "tsr-connection-private.h"
#include "tsr-creator.h"
#include "tsr-error.h"
#include "tsr-image-sniff.h"
#include "tsr-import.h"
#include "tsr-ovf.h"
#include "tsr-test-util.h"

#define WAIT_UNTIL(cond) TSR_WAIT_UNTIL (cond, 30)

static char *tmpdir;

/* Archives made in memory */

static gboolean
mem_read_at (gpointer   data,
             guint64    offset,
             void      *buf,
             gsize      len,
             GError   **error)
{
  GByteArray *bytes = data;

  if (offset > bytes->len || len > bytes->len - offset)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE, "short read");
      return FALSE;
    }
  memcpy (buf, bytes->data + offset, len);
  return TRUE;
}

typedef enum
{
  SIZE_OCTAL,
  SIZE_BASE256,
} SizeEncoding;

static void
tar_header (GByteArray   *tar,
            const char   *name,
            char          type,
            guint64       size,
            SizeEncoding  encoding,
            const char   *prefix)
{
  guint8 h[512] = { 0 };
  guint sum = 0;

  strncpy ((char *) h, name, 100);
  memcpy (h + 100, "0000644", 8);
  memcpy (h + 108, "0000000", 8);
  memcpy (h + 116, "0000000", 8);
  if (encoding == SIZE_OCTAL)
    g_snprintf ((char *) h + 124, 12, "%011" G_GINT64_MODIFIER "o", size);
  else
    {
      h[124] = 0x80;
      for (int i = 0; i < 8; i++)
        h[135 - i] = (size >> (8 * i)) & 0xff;
    }
  memcpy (h + 136, "14000000000", 12);
  h[156] = type;
  memcpy (h + 257, "ustar", 6);
  memcpy (h + 263, "00", 2);
  if (prefix != NULL)
    strncpy ((char *) h + 345, prefix, 155);
  memset (h + 148, ' ', 8);
  for (int i = 0; i < 512; i++)
    sum += h[i];
  g_snprintf ((char *) h + 148, 8, "%06o", sum);
  g_byte_array_append (tar, h, 512);
}

static void
tar_data (GByteArray *tar,
          const void *data,
          gsize       len)
{
  static const guint8 zeros[512] = { 0 };

  g_byte_array_append (tar, data, len);
  if (len % 512)
    g_byte_array_append (tar, zeros, 512 - len % 512);
}

static void
tar_add (GByteArray *tar,
         const char *name,
         const void *data,
         gsize       len)
{
  tar_header (tar, name, '0', len, SIZE_OCTAL, NULL);
  tar_data (tar, data, len);
}

static void
tar_end (GByteArray *tar)
{
  static const guint8 zeros[1024] = { 0 };

  g_byte_array_append (tar, zeros, sizeof zeros);
}

static GPtrArray *
tar_index (GByteArray  *tar,
           GError     **error)
{
  return tsr_tar_index (mem_read_at, tar, tar->len, error);
}

static void
test_tar_basic (void)
{
  g_autoptr(GByteArray) tar = g_byte_array_new ();
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(GError) error = NULL;
  const TsrArchiveMember *m;

  tar_add (tar, "app.ovf", "<Envelope/>", 11);
  tar_header (tar, "./disks/", '5', 0, SIZE_OCTAL, NULL);
  tar_add (tar, "./disks/disk1.vmdk", "KDMV....", 8);
  tar_header (tar, "link", '2', 0, SIZE_OCTAL, NULL);
  tar_end (tar);

  members = tar_index (tar, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (members->len, ==, 4);

  m = tsr_archive_find (members, "app.ovf");
  g_assert_nonnull (m);
  g_assert_cmpuint (m->offset, ==, 512);
  g_assert_cmpuint (m->size, ==, 11);
  g_assert_true (m->regular);

  /* "./" prefixes are the same member */
  m = tsr_archive_find (members, "./disks/disk1.vmdk");
  g_assert_nonnull (m);
  g_assert_cmpstr (m->name, ==, "disks/disk1.vmdk");
  g_assert_cmpuint (m->offset, ==, 512 * 4);
  g_assert_cmpmem (tar->data + m->offset, 4, "KDMV", 4);

  m = tsr_archive_find (members, "link");
  g_assert_nonnull (m);
  g_assert_false (m->regular);
}

static void
test_tar_long_names (void)
{
  g_autoptr(GByteArray) tar = g_byte_array_new ();
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *long_name = g_strnfill (150, 'a');
  g_autofree char *pax = NULL;
  g_autofree char *pax_path = g_strconcat ("pax/", long_name, ".vmdk", NULL);
  const TsrArchiveMember *m;
  guint8 payload[1500];

  memset (payload, 'x', sizeof payload);

  /* GNU long name */
  tar_header (tar, "././@LongLink", 'L', strlen (long_name) + 1, SIZE_OCTAL, NULL);
  tar_data (tar, long_name, strlen (long_name) + 1);
  tar_add (tar, "truncated-name", "1", 1);

  /* ustar prefix */
  tar_header (tar, "disk.vdi", '0', 3, SIZE_OCTAL, "some/dir");
  tar_data (tar, "abc", 3);

  /* pax path and size: the size field of the ustar header is wrong on
   * purpose; the pax record wins.
   */
  {
    g_autofree char *rec1 = NULL;
    g_autofree char *rec2 = g_strdup ("13 size=1500\n");
    gsize len = strlen (" path=") + strlen (pax_path) + 1 + 3;

    g_assert_cmpuint (len, >=, 100);
    g_assert_cmpuint (len, <, 1000);
    rec1 = g_strdup_printf ("%zu path=%s\n", len, pax_path);
    g_assert_cmpuint (strlen (rec1), ==, len);
    pax = g_strconcat (rec1, rec2, NULL);
  }
  tar_header (tar, "PaxHeader", 'x', strlen (pax), SIZE_OCTAL, NULL);
  tar_data (tar, pax, strlen (pax));
  tar_header (tar, "short", '0', 7, SIZE_OCTAL, NULL);
  tar_data (tar, payload, sizeof payload);

  /* base-256 size (GNU, for members of 8 GiB and more) */
  tar_header (tar, "big.vmdk", '0', 700, SIZE_BASE256, NULL);
  tar_data (tar, payload, 700);
  tar_end (tar);

  members = tar_index (tar, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (members->len, ==, 4);

  m = tsr_archive_find (members, long_name);
  g_assert_nonnull (m);
  g_assert_cmpuint (m->size, ==, 1);
  g_assert_null (tsr_archive_find (members, "truncated-name"));

  m = tsr_archive_find (members, "some/dir/disk.vdi");
  g_assert_nonnull (m);
  g_assert_cmpuint (m->size, ==, 3);

  m = tsr_archive_find (members, pax_path);
  g_assert_nonnull (m);
  g_assert_cmpuint (m->size, ==, 1500);

  m = tsr_archive_find (members, "big.vmdk");
  g_assert_nonnull (m);
  g_assert_cmpuint (m->size, ==, 700);
  g_assert_cmpmem (tar->data + m->offset, 700, payload, 700);
}

typedef void (*TarMaker) (GByteArray *tar);

static void make_dotdot (GByteArray *t) { tar_add (t, "../x", "1", 1); tar_end (t); }
static void make_deep_dotdot (GByteArray *t) { tar_add (t, "a/../../x", "1", 1); tar_end (t); }
static void make_absolute (GByteArray *t) { tar_add (t, "/etc/passwd", "1", 1); tar_end (t); }
static void make_backslash (GByteArray *t) { tar_add (t, "..\\x", "1", 1); tar_end (t); }
static void make_long_dotdot (GByteArray *t)
{
  tar_header (t, "././@LongLink", 'L', 6, SIZE_OCTAL, NULL);
  tar_data (t, "../x\0", 6);
  tar_add (t, "harmless", "1", 1);
  tar_end (t);
}
static void make_pax_dotdot (GByteArray *t)
{
  tar_header (t, "PaxHeader", 'x', 14, SIZE_OCTAL, NULL);
  tar_data (t, "14 path=../ab\n", 14);
  tar_add (t, "harmless", "1", 1);
  tar_end (t);
}
static void make_duplicate (GByteArray *t)
{
  tar_add (t, "disk.vmdk", "1", 1);
  tar_add (t, "./disk.vmdk", "2", 1);
  tar_end (t);
}
static void make_truncated (GByteArray *t)
{
  guint8 data[4096] = { 0 };

  tar_add (t, "app.ovf", "<x/>", 4);
  tar_add (t, "disk.vmdk", data, sizeof data);
  g_byte_array_set_size (t, t->len - 2048);
}
static void make_truncated_header (GByteArray *t)
{
  tar_add (t, "app.ovf", "<x/>", 4);
  tar_header (t, "disk.vmdk", '0', 1, SIZE_OCTAL, NULL);
  g_byte_array_set_size (t, t->len - 100);
}
static void make_bad_checksum (GByteArray *t)
{
  tar_add (t, "app.ovf", "<x/>", 4);
  t->data[0] ^= 1;
}
static void make_bad_second_checksum (GByteArray *t)
{
  tar_add (t, "app.ovf", "<x/>", 4);
  tar_add (t, "disk", "<x/>", 4);
  t->data[1024] ^= 1;
}
static void make_huge_size (GByteArray *t)
{
  tar_header (t, "disk.vmdk", '0', G_GUINT64_CONSTANT (1) << 62, SIZE_BASE256, NULL);
  tar_data (t, "x", 1);
  tar_end (t);
}
static void make_bad_pax (GByteArray *t)
{
  tar_header (t, "PaxHeader", 'x', 12, SIZE_OCTAL, NULL);
  tar_data (t, "99 path=ab\n\n", 12);
  tar_add (t, "harmless", "1", 1);
  tar_end (t);
}
static void make_too_many (GByteArray *t)
{
  for (guint i = 0; i <= TSR_ARCHIVE_MAX_MEMBERS; i++)
    {
      g_autofree char *name = g_strdup_printf ("f%u", i);

      tar_header (t, name, '0', 0, SIZE_OCTAL, NULL);
    }
  tar_end (t);
}
static void make_text (GByteArray *t)
{
  for (guint i = 0; i < 4 * 16; i++)
    g_byte_array_append (t, (const guint8 *) "This is not a tar archive at all!\n", 34);
}

static const struct
{
  const char *what;
  TarMaker    make;
  const char *expect;    /* a word the message must hold */
} bad_tars[] = {
  { "member ../x", make_dotdot, "outside" },
  { "member a/../../x", make_deep_dotdot, "outside" },
  { "absolute member", make_absolute, "outside" },
  { "backslash member", make_backslash, "outside" },
  { "GNU long name ../x", make_long_dotdot, "outside" },
  { "pax path ../ab", make_pax_dotdot, "outside" },
  { "duplicate member", make_duplicate, "twice" },
  { "truncated data", make_truncated, "truncated" },
  { "truncated header", make_truncated_header, "truncated" },
  { "bad checksum", make_bad_checksum, "not a tar" },
  { "damaged header", make_bad_second_checksum, "damaged" },
  { "absurd size", make_huge_size, "truncated" },
  { "bad pax record", make_bad_pax, "pax" },
  { "too many members", make_too_many, "4096" },
  { "text", make_text, "not a tar" },
};

static void
test_tar_refused (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_tars); i++)
    {
      g_autoptr(GByteArray) tar = g_byte_array_new ();
      g_autoptr(GPtrArray) members = NULL;
      g_autoptr(GError) error = NULL;

      bad_tars[i].make (tar);
      members = tar_index (tar, &error);
      g_test_message ("%s: %s", bad_tars[i].what, error ? error->message : "(accepted)");
      g_assert_null (members);
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
      g_assert_nonnull (strstr (error->message, bad_tars[i].expect));
    }
}

/* Zip */

static void
put16 (GByteArray *b,
       guint       v)
{
  guint8 x[2] = { v & 0xff, (v >> 8) & 0xff };

  g_byte_array_append (b, x, 2);
}

static void
put32 (GByteArray *b,
       guint32     v)
{
  put16 (b, v & 0xffff);
  put16 (b, v >> 16);
}

static void
put64 (GByteArray *b,
       guint64     v)
{
  put32 (b, v & 0xffffffff);
  put32 (b, v >> 32);
}

typedef struct
{
  const char *name;
  const char *data;
  guint16     method;     /* 0 stored, 8 deflated */
  guint16     flags;
  gboolean    zip64;
} ZipEntry;

static GByteArray *
make_zip (const ZipEntry *entries,
          guint           n)
{
  GByteArray *zip = g_byte_array_new ();
  g_autoptr(GByteArray) dir = g_byte_array_new ();
  g_autofree guint32 *offsets = g_new0 (guint32, n);
  g_autofree gsize *csizes = g_new0 (gsize, n);
  guint32 dir_offset;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) packed = NULL;
      gsize len = strlen (entries[i].data);

      if (entries[i].method == 8)
        {
          g_autoptr(GZlibCompressor) zlib = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW, 9);
          g_autoptr(GInputStream) mem = g_memory_input_stream_new_from_data (entries[i].data, len, NULL);
          g_autoptr(GInputStream) in = g_converter_input_stream_new (mem, G_CONVERTER (zlib));
          g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();

          g_assert_cmpint (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                                   NULL, NULL), >=, 0);
          packed = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
        }
      else
        packed = g_bytes_new (entries[i].data, len);

      offsets[i] = zip->len;
      csizes[i] = g_bytes_get_size (packed);
      put32 (zip, 0x04034b50);
      put16 (zip, 20);
      put16 (zip, entries[i].flags);
      put16 (zip, entries[i].method);
      put32 (zip, 0);
      put32 (zip, 0);
      put32 (zip, csizes[i]);
      put32 (zip, len);
      put16 (zip, strlen (entries[i].name));
      put16 (zip, 0);
      g_byte_array_append (zip, (const guint8 *) entries[i].name, strlen (entries[i].name));
      g_byte_array_append (zip, g_bytes_get_data (packed, NULL), csizes[i]);
    }

  dir_offset = zip->len;
  for (guint i = 0; i < n; i++)
    {
      gboolean z64 = entries[i].zip64;

      put32 (dir, 0x02014b50);
      put16 (dir, 0x031e);
      put16 (dir, 45);
      put16 (dir, entries[i].flags);
      put16 (dir, entries[i].method);
      put32 (dir, 0);
      put32 (dir, 0);
      put32 (dir, z64 ? 0xffffffff : csizes[i]);
      put32 (dir, z64 ? 0xffffffff : strlen (entries[i].data));
      put16 (dir, strlen (entries[i].name));
      put16 (dir, z64 ? 28 : 0);
      put16 (dir, 0);
      put16 (dir, 0);
      put16 (dir, 0);
      put32 (dir, 0100644u << 16);
      put32 (dir, z64 ? 0xffffffff : offsets[i]);
      g_byte_array_append (dir, (const guint8 *) entries[i].name, strlen (entries[i].name));
      if (z64)
        {
          put16 (dir, 0x0001);
          put16 (dir, 24);
          put64 (dir, strlen (entries[i].data));
          put64 (dir, csizes[i]);
          put64 (dir, offsets[i]);
        }
    }
  g_byte_array_append (zip, dir->data, dir->len);
  put32 (zip, 0x06054b50);
  put16 (zip, 0);
  put16 (zip, 0);
  put16 (zip, n);
  put16 (zip, n);
  put32 (zip, dir->len);
  put32 (zip, dir_offset);
  put16 (zip, 0);
  return zip;
}

static void
test_zip (void)
{
  static const ZipEntry entries[] = {
    { "folder/", "", 0, 0, FALSE },
    { "folder/app.ova", "stored bytes", 0, 0, FALSE },
    { "disk.img", "deflated deflated deflated deflated", 8, 0, FALSE },
    { "big.vdi", "zip64 fields", 0, 0, TRUE },
  };
  g_autoptr(GByteArray) zip = make_zip (entries, G_N_ELEMENTS (entries));
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(GError) error = NULL;
  const TsrArchiveMember *m;

  members = tsr_zip_index (mem_read_at, zip, zip->len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (members->len, ==, 4);

  m = tsr_archive_find (members, "folder/app.ova");
  g_assert_nonnull (m);
  g_assert_cmpuint (m->method, ==, 0);
  g_assert_cmpmem (zip->data + m->offset, m->size, "stored bytes", 12);

  m = tsr_archive_find (members, "disk.img");
  g_assert_nonnull (m);
  g_assert_cmpuint (m->method, ==, 8);
  g_assert_cmpuint (m->full_size, ==, 35);
  g_assert_cmpuint (m->size, <, 35);

  m = tsr_archive_find (members, "big.vdi");
  g_assert_nonnull (m);
  g_assert_cmpmem (zip->data + m->offset, m->size, "zip64 fields", 12);

  m = tsr_archive_find (members, "folder");
  g_assert_nonnull (m);
  g_assert_false (m->regular);
}

static void
test_zip_refused (void)
{
  static const ZipEntry dotdot[] = { { "../evil.img", "x", 0, 0, FALSE } };
  static const ZipEntry absolute[] = { { "/etc/evil.img", "x", 0, 0, FALSE } };
  static const ZipEntry twice[] = { { "a.img", "x", 0, 0, FALSE }, { "a.img", "y", 0, 0, FALSE } };
  static const ZipEntry encrypted[] = { { "a.img", "x", 0, 1, FALSE } };
  struct { const char *what; const ZipEntry *e; guint n; int code; const char *expect; } cases[] = {
    { "../", dotdot, 1, TSR_ERROR_INVALID_VALUE, "outside" },
    { "absolute", absolute, 1, TSR_ERROR_INVALID_VALUE, "outside" },
    { "twice", twice, 2, TSR_ERROR_INVALID_VALUE, "twice" },
    { "encrypted", encrypted, 1, TSR_ERROR_NOT_SUPPORTED, "password" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GByteArray) zip = make_zip (cases[i].e, cases[i].n);
      g_autoptr(GPtrArray) members = NULL;
      g_autoptr(GError) error = NULL;

      members = tsr_zip_index (mem_read_at, zip, zip->len, &error);
      g_test_message ("%s: %s", cases[i].what, error ? error->message : "(accepted)");
      g_assert_null (members);
      g_assert_error (error, TSR_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].expect));
    }

  /* Truncated: the central directory points past the end. */
  {
    static const ZipEntry one[] = { { "a.img", "0123456789", 0, 0, FALSE } };
    g_autoptr(GByteArray) zip = make_zip (one, 1);
    g_autoptr(GByteArray) cut = g_byte_array_new ();
    g_autoptr(GPtrArray) members = NULL;
    g_autoptr(GError) error = NULL;

    /* keep the end record, drop the member's data */
    g_byte_array_append (cut, zip->data, 20);
    g_byte_array_append (cut, zip->data + zip->len - 22 - 46 - 5, 22 + 46 + 5);
    members = tsr_zip_index (mem_read_at, cut, cut->len, &error);
    g_assert_null (members);
    g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  }

  /* Not a zip at all */
  {
    g_autoptr(GByteArray) text = g_byte_array_new ();
    g_autoptr(GPtrArray) members = NULL;
    g_autoptr(GError) error = NULL;

    g_byte_array_append (text, (const guint8 *) "hello, this is text, not a zip file at all", 42);
    members = tsr_zip_index (mem_read_at, text, text->len, &error);
    g_assert_null (members);
    g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  }
}

/* OVF */

#define OVF_HEAD                                                                         \
  "<?xml version='1.0'?>\n"                                                              \
  "<Envelope ovf:version='1.0' xmlns='http://schemas.dmtf.org/ovf/envelope/1'"           \
  " xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'"                                  \
  " xmlns:rasd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData'" \
  " xmlns:vssd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData'" \
  " xmlns:vmw='http://www.vmware.com/schema/ovf'"                                        \
  " xmlns:vbox='http://www.virtualbox.org/ovf/machine'>\n"

/* What VirtualBox 7 writes for a VM with two disks: the second one (port 1)
 * is listed first in DiskSection, and there are sections and items Tessera
 * does not know.
 */
static const char vbox_ovf[] =
  OVF_HEAD
  "<References>"
  "  <File ovf:id='file1' ovf:href='Win 10-disk002.vmdk' ovf:size='1024'/>"
  "  <File ovf:id='file2' ovf:href='Win 10-disk001.vmdk'/>"
  "</References>"
  "<DiskSection><Info>disks</Info>"
  "  <Disk ovf:capacity='10' ovf:capacityAllocationUnits='byte * 2^30' ovf:diskId='vmdisk2'"
  "        ovf:fileRef='file1' ovf:format='http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized'/>"
  "  <Disk ovf:capacity='42949672960' ovf:diskId='vmdisk1' ovf:fileRef='file2'"
  "        ovf:format='http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized'/>"
  "</DiskSection>"
  "<NetworkSection><Info>n</Info><Network ovf:name='NAT'/></NetworkSection>"
  "<SomeFutureSection ovf:required='true'><Info>?</Info><Stuff/></SomeFutureSection>"
  "<VirtualSystem ovf:id='Win 10 (64-bit)'>"
  "  <Info>A virtual machine</Info>"
  "  <ProductSection><Info>p</Info><Product>Windows</Product></ProductSection>"
  "  <OperatingSystemSection ovf:id='112'><Info>os</Info><Description>Windows10_64</Description>"
  "    <vbox:OSType ovf:required='false'>Windows10_64</vbox:OSType></OperatingSystemSection>"
  "  <VirtualHardwareSection><Info>hw</Info>"
  "    <System><vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType></System>"
  "    <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType>"
  "      <rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>"
  "    <Item><rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID>"
  "      <rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>4096</rasd:VirtualQuantity></Item>"
  "    <Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>PIIX4</rasd:ResourceSubType>"
  "      <rasd:ResourceType>5</rasd:ResourceType></Item>"
  "    <Item><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>AHCI</rasd:ResourceSubType>"
  "      <rasd:ResourceType>20</rasd:ResourceType></Item>"
  "    <Item><rasd:InstanceID>6</rasd:InstanceID><rasd:ResourceType>10</rasd:ResourceType></Item>"
  "    <Item><rasd:InstanceID>7</rasd:InstanceID><rasd:ResourceType>10</rasd:ResourceType></Item>"
  "    <Item><rasd:InstanceID>8</rasd:InstanceID><rasd:ResourceType>35</rasd:ResourceType></Item>"
  "    <Item><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:HostResource>/disk/vmdisk2</rasd:HostResource>"
  "      <rasd:InstanceID>9</rasd:InstanceID><rasd:Parent>5</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>"
  "    <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>"
  "      <rasd:InstanceID>10</rasd:InstanceID><rasd:Parent>5</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>"
  "    <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:HostResource>/file/iso</rasd:HostResource>"
  "      <rasd:InstanceID>11</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>15</rasd:ResourceType></Item>"
  "    <vbox:Unknown>ignored</vbox:Unknown>"
  "  </VirtualHardwareSection>"
  "  <vbox:Machine ovf:required='false' name='Win 10 (64-bit)' OSType='Windows10_64'>"
  "    <ovf:Info>vbox</ovf:Info>"
  "    <Hardware><CPU count='2'/><Memory RAMSize='4096'/><Firmware type='EFI'/></Hardware>"
  "  </vbox:Machine>"
  "</VirtualSystem>"
  "</Envelope>";

static void
test_ovf_virtualbox (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrOvf) ovf = tsr_ovf_parse (vbox_ovf, strlen (vbox_ovf), &error);
  TsrOvfDisk *d;
  g_autofree char *name = NULL;
  gboolean nics = FALSE, sound = FALSE, cd = FALSE;

  g_assert_no_error (error);
  g_assert_cmpstr (ovf->name, ==, "Win 10 (64-bit)");
  g_assert_cmpuint (ovf->memory, ==, 4096);
  g_assert_cmpuint (ovf->vcpus, ==, 2);
  g_assert_cmpstr (ovf->firmware, ==, "uefi");
  g_assert_cmpstr (ovf->os_type, ==, "Windows10_64");

  /* Port 0 of the SATA controller first, whatever DiskSection's order. */
  g_assert_cmpuint (ovf->disks->len, ==, 2);
  d = g_ptr_array_index (ovf->disks, 0);
  g_assert_cmpstr (d->id, ==, "vmdisk1");
  g_assert_cmpstr (d->href, ==, "Win 10-disk001.vmdk");
  g_assert_cmpuint (d->capacity, ==, G_GUINT64_CONSTANT (42949672960));
  g_assert_cmpstr (d->format, ==, "vmdk");
  d = g_ptr_array_index (ovf->disks, 1);
  g_assert_cmpstr (d->id, ==, "vmdisk2");
  g_assert_cmpuint (d->capacity, ==, G_GUINT64_CONSTANT (10) << 30);
  g_assert_cmpuint (d->file_size, ==, 1024);

  for (guint i = 0; i < ovf->warnings->len; i++)
    {
      const char *w = g_ptr_array_index (ovf->warnings, i);

      g_test_message ("warning: %s", w);
      nics |= strstr (w, "2 network adapters") != NULL;
      sound |= strstr (w, "sound") != NULL;
      cd |= strstr (w, "/file/iso") != NULL;
    }
  g_assert_true (nics && sound && cd);

  name = tsr_import_suggest_name (ovf->name);
  g_assert_cmpstr (name, ==, "Win-10-64-bit");
}

static void
test_ovf_variants (void)
{
  /* Minimal OVF 2.0 with VMware's firmware key, memory in bytes * 2^30,
   * no DiskSection order info, and a blank disk.
   */
  static const char ovf2[] =
    "<Envelope xmlns='http://schemas.dmtf.org/ovf/envelope/2'"
    " xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/2'"
    " xmlns:vmw='http://www.vmware.com/schema/ovf'>"
    "<References><File ovf:id='f' ovf:href='sub/disk.vhd'/></References>"
    "<DiskSection><Disk ovf:diskId='d1' ovf:fileRef='f'/>"
    "  <Disk ovf:diskId='blank' ovf:capacity='1' ovf:capacityAllocationUnits='byte * 2^30'/></DiskSection>"
    "<VirtualSystemCollection><VirtualSystem ovf:id='x'><Name>Linux box</Name>"
    "  <OperatingSystemSection><Description>Ubuntu 22.04</Description></OperatingSystemSection>"
    "  <VirtualHardwareSection>"
    "    <Item><ResourceType>4</ResourceType><AllocationUnits>byte * 2^30</AllocationUnits>"
    "      <VirtualQuantity>2</VirtualQuantity></Item>"
    "    <vmw:Config vmw:key='firmware' vmw:value='efi'/>"
    "  </VirtualHardwareSection></VirtualSystem></VirtualSystemCollection></Envelope>";
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrOvf) ovf = tsr_ovf_parse (ovf2, strlen (ovf2), &error);
  TsrOvfDisk *d;

  g_assert_no_error (error);
  g_assert_cmpstr (ovf->name, ==, "Linux box");
  g_assert_cmpuint (ovf->memory, ==, 2048);
  g_assert_cmpuint (ovf->vcpus, ==, 0);
  g_assert_cmpstr (ovf->firmware, ==, "uefi");
  /* test-osinfo.c maps it through libosinfo. */
  g_assert_cmpstr (ovf->os_type, ==, "Ubuntu 22.04");
  g_assert_cmpuint (ovf->disks->len, ==, 2);
  d = g_ptr_array_index (ovf->disks, 0);
  g_assert_cmpstr (d->href, ==, "sub/disk.vhd");
  g_assert_null (d->format);
  d = g_ptr_array_index (ovf->disks, 1);
  g_assert_null (d->href);
  g_assert_cmpuint (d->capacity, ==, G_GUINT64_CONSTANT (1) << 30);
}

#define DISKS_OK                                                                    \
  "<References><File ovf:id='f' ovf:href='d.vmdk'/></References>"                   \
  "<DiskSection><Disk ovf:diskId='d' ovf:fileRef='f'/></DiskSection>"
#define SYSTEM(hw) "<VirtualSystem ovf:id='x'><VirtualHardwareSection>" hw "</VirtualHardwareSection></VirtualSystem>"

static const struct
{
  const char *what;
  const char *xml;
  int         code;
  const char *expect;
} bad_ovfs[] = {
  { "not XML", "this is { not XML", TSR_ERROR_INVALID_VALUE, "not valid XML" },
  { "unclosed", OVF_HEAD "<References>", TSR_ERROR_INVALID_VALUE, "not valid XML" },
  { "empty", "", TSR_ERROR_INVALID_VALUE, "empty" },
  { "wrong root", "<html><body/></html>", TSR_ERROR_INVALID_VALUE, "<html>" },
  { "entity bomb",
    "<?xml version='1.0'?><!DOCTYPE E [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>"
    "<!ENTITY c '&b;&b;&b;&b;&b;&b;'>]><Envelope>&c;&c;&c;</Envelope>",
    TSR_ERROR_INVALID_VALUE, "OVF descriptor" },
  { "external entity",
    "<?xml version='1.0'?><!DOCTYPE E [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><Envelope>&x;</Envelope>",
    TSR_ERROR_INVALID_VALUE, "DTD" },
  { "href ../x", OVF_HEAD "<References><File ovf:id='f' ovf:href='../x.vmdk'/></References></Envelope>",
    TSR_ERROR_INVALID_VALUE, "outside" },
  { "href absolute", OVF_HEAD "<References><File ovf:id='f' ovf:href='/etc/shadow'/></References></Envelope>",
    TSR_ERROR_INVALID_VALUE, "outside" },
  { "href URL", OVF_HEAD "<References><File ovf:id='f' ovf:href='http://x/d.vmdk'/></References></Envelope>",
    TSR_ERROR_INVALID_VALUE, "outside" },
  { "file twice", OVF_HEAD "<References><File ovf:id='f' ovf:href='a'/><File ovf:id='g' ovf:href='a'/>"
    "</References></Envelope>", TSR_ERROR_INVALID_VALUE, "twice" },
  { "gzip", OVF_HEAD "<References><File ovf:id='f' ovf:href='a' ovf:compression='gzip'/></References>"
    "</Envelope>", TSR_ERROR_NOT_SUPPORTED, "gzip" },
  { "missing fileRef", OVF_HEAD "<References/><DiskSection><Disk ovf:diskId='d' ovf:fileRef='nope'/>"
    "</DiskSection>" SYSTEM ("") "</Envelope>", TSR_ERROR_INVALID_VALUE, "nope" },
  { "disk twice", OVF_HEAD "<References><File ovf:id='f' ovf:href='a'/><File ovf:id='g' ovf:href='b'/></References>"
    "<DiskSection><Disk ovf:diskId='d' ovf:fileRef='f'/><Disk ovf:diskId='d' ovf:fileRef='g'/></DiskSection>"
    SYSTEM ("") "</Envelope>", TSR_ERROR_INVALID_VALUE, "twice" },
  { "file used twice", OVF_HEAD "<References><File ovf:id='f' ovf:href='a'/></References>"
    "<DiskSection><Disk ovf:diskId='d' ovf:fileRef='f'/><Disk ovf:diskId='e' ovf:fileRef='f'/></DiskSection>"
    SYSTEM ("") "</Envelope>", TSR_ERROR_INVALID_VALUE, "same file" },
  { "attached twice", OVF_HEAD DISKS_OK SYSTEM (
      "<Item><ResourceType>17</ResourceType><HostResource>/disk/d</HostResource></Item>"
      "<Item><ResourceType>17</ResourceType><HostResource>/disk/d</HostResource></Item>")
    "</Envelope>", TSR_ERROR_INVALID_VALUE, "twice" },
  { "unknown disk", OVF_HEAD DISKS_OK SYSTEM (
      "<Item><ResourceType>17</ResourceType><HostResource>/disk/zz</HostResource></Item>")
    "</Envelope>", TSR_ERROR_INVALID_VALUE, "zz" },
  { "absurd memory", OVF_HEAD DISKS_OK SYSTEM (
      "<Item><ResourceType>4</ResourceType><AllocationUnits>byte * 2^40</AllocationUnits>"
      "<VirtualQuantity>99999</VirtualQuantity></Item>") "</Envelope>",
    TSR_ERROR_INVALID_VALUE, "memory" },
  { "memory overflow", OVF_HEAD DISKS_OK SYSTEM (
      "<Item><ResourceType>4</ResourceType><VirtualQuantity>99999999999999999999999</VirtualQuantity></Item>")
    "</Envelope>", TSR_ERROR_INVALID_VALUE, "memory" },
  { "absurd vCPUs", OVF_HEAD DISKS_OK SYSTEM (
      "<Item><ResourceType>3</ResourceType><VirtualQuantity>100000</VirtualQuantity></Item>")
    "</Envelope>", TSR_ERROR_INVALID_VALUE, "vCPUs" },
  { "absurd capacity", OVF_HEAD "<References><File ovf:id='f' ovf:href='a'/></References>"
    "<DiskSection><Disk ovf:diskId='d' ovf:fileRef='f' ovf:capacity='99' "
    "ovf:capacityAllocationUnits='byte * 2^50'/></DiskSection>" SYSTEM ("") "</Envelope>",
    TSR_ERROR_INVALID_VALUE, "absurd" },
  { "two VMs", OVF_HEAD DISKS_OK "<VirtualSystemCollection><VirtualSystem ovf:id='a'/>"
    "<VirtualSystem ovf:id='b'/></VirtualSystemCollection></Envelope>",
    TSR_ERROR_NOT_SUPPORTED, "2 VMs" },
  { "no VM", OVF_HEAD DISKS_OK "</Envelope>", TSR_ERROR_INVALID_VALUE, "VirtualSystem" },
  { "no disks", OVF_HEAD SYSTEM ("") "</Envelope>", TSR_ERROR_INVALID_VALUE, "no disks" },
};

static void
test_ovf_refused (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_ovfs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TsrOvf) ovf = tsr_ovf_parse (bad_ovfs[i].xml, strlen (bad_ovfs[i].xml), &error);

      g_test_message ("%s: %s", bad_ovfs[i].what, error ? error->message : "(accepted)");
      g_assert_null (ovf);
      g_assert_error (error, TSR_ERROR, bad_ovfs[i].code);
      g_assert_nonnull (strstr (error->message, bad_ovfs[i].expect));
    }
}

static void
test_sniff (void)
{
  guint8 head[1024] = { 0 };
  guint8 tail[512] = { 0 };

  g_assert_null (tsr_image_sniff (head, sizeof head, tail, sizeof tail));
  memcpy (head, "KDMV", 4);
  g_assert_cmpstr (tsr_image_sniff (head, sizeof head, NULL, 0), ==, "vmdk");
  memcpy (head, "# Disk DescriptorFile\n", 22);
  g_assert_cmpstr (tsr_image_sniff (head, sizeof head, NULL, 0), ==, "vmdk-descriptor");
  memcpy (head, "QFI\xfb\0\0\0\3", 8);
  g_assert_cmpstr (tsr_image_sniff (head, sizeof head, NULL, 0), ==, "qcow2");
  memcpy (head, "QFI\xfb\0\0\0\1", 8);
  g_assert_cmpstr (tsr_image_sniff (head, sizeof head, NULL, 0), ==, "qcow");
  memcpy (head, "vhdxfile", 8);
  g_assert_cmpstr (tsr_image_sniff (head, sizeof head, NULL, 0), ==, "vhdx");
  memcpy (head, "conectix", 8);
  g_assert_cmpstr (tsr_image_sniff (head, sizeof head, NULL, 0), ==, "vpc");
  memset (head, 0, sizeof head);
  memcpy (head + 64, "\x7f\x10\xda\xbe", 4);
  g_assert_cmpstr (tsr_image_sniff (head, sizeof head, NULL, 0), ==, "vdi");
  /* fixed VHD: only the footer says so */
  memset (head, 0, sizeof head);
  memcpy (tail, "conectix", 8);
  g_assert_cmpstr (tsr_image_sniff (head, sizeof head, tail, sizeof tail), ==, "vpc");
  /* too short to hold any header */
  g_assert_null (tsr_image_sniff ((const guint8 *) "KD", 2, NULL, 0));

  g_assert_cmpstr (tsr_image_format_for_name ("A.VMDK"), ==, "vmdk");
  g_assert_cmpstr (tsr_image_format_for_name ("x.vhd"), ==, "vpc");
  g_assert_cmpstr (tsr_image_format_for_name ("x.vhdx"), ==, "vhdx");
  g_assert_cmpstr (tsr_image_format_for_name ("x.img"), ==, "raw");
  g_assert_null (tsr_image_format_for_name ("x.ova"));
  g_assert_null (tsr_image_format_for_name ("x"));
}

static void
test_suggest_name (void)
{
  static const char * const cases[][2] = {
    { "Win 10 (64-bit)", "Win-10-64-bit" },
    { "Ubuntu 22.04.3 LTS", "Ubuntu-22.04.3-LTS" },
    { "  2024 build server ", "build-server" },
    { "ÄÖÜ test", "test" },
    { "", "imported" },
    { "1234", "imported" },
    { "dom0", "dom0-vm" },
    { "default", "default-vm" },
    { "x-dm", "x" },
    { "a-very-long-appliance-name-that-goes-on-and-on", "a-very-long-appliance-name-that" },
    { "name...", "name" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = tsr_import_suggest_name (cases[i][0]);

      g_assert_cmpstr (name, ==, cases[i][1]);
    }
}

/* Real images, inspected */

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static GBytes *
read_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_bytes_new_take (g_steal_pointer (&contents), len);
}

static void
write_bytes (const char *path,
             const void *data,
             gsize       len)
{
  g_assert_true (g_file_set_contents (path, data, len, NULL));
}

/* A 4 MiB raw disk with a recognisable first sector and some data. */
static void
make_images (void)
{
  g_autofree char *raw = tmp_path ("disk.img");
  g_autofree char *cmd = NULL;
  guint8 *data = g_malloc0 (4 * 1024 * 1024);

  memcpy (data, "TESSERA TEST DISK", 17);
  memset (data + 1024 * 1024, 0x5a, 256 * 1024);
  write_bytes (raw, data, 4 * 1024 * 1024);
  g_free (data);

  cmd = g_strdup_printf ("sh -c 'cd %s && "
                         "qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.img disk.vmdk && "
                         "qemu-img convert -f raw -O vdi disk.img disk.vdi && "
                         "qemu-img convert -f raw -O vpc disk.img disk.vhd && "
                         "qemu-img convert -f raw -O vpc -o subformat=fixed disk.img fixed.vhd && "
                         "qemu-img convert -f raw -O vhdx disk.img disk.vhdx && "
                         "qemu-img convert -f raw -O qcow2 disk.img disk.qcow2 && "
                         "qemu-img create -q -f qcow2 -b disk.qcow2 -F qcow2 overlay.qcow2 && "
                         "cp disk.img raw.vmdk && cp disk.img nothing.dat'", tmpdir);
  tsr_test_run_command (cmd);
}

static TsrImportInfo *
inspect_file (const char  *name,
              GError     **error)
{
  g_autofree char *path = tmp_path (name);
  g_autoptr(GAsyncResult) result = NULL;

  tsr_import_inspect_async (path, NULL, NULL, NULL, tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  return tsr_import_inspect_finish (result, error);
}

static char *
appliance_ovf (const char *href,
               const char *format,
               guint64     memory,
               guint       vcpus)
{
  return g_strdup_printf (OVF_HEAD
                          "<References><File ovf:id='file1' ovf:href='%s'/></References>"
                          "<DiskSection><Disk ovf:diskId='vmdisk1' ovf:fileRef='file1' "
                          "ovf:capacity='4194304' ovf:format='%s'/></DiskSection>"
                          "<VirtualSystem ovf:id='Test Appliance'>"
                          "<VirtualHardwareSection>"
                          "<Item><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>%u</rasd:VirtualQuantity></Item>"
                          "<Item><rasd:ResourceType>4</rasd:ResourceType><rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>"
                          "<rasd:VirtualQuantity>%" G_GUINT64_FORMAT "</rasd:VirtualQuantity></Item>"
                          "<Item><rasd:ResourceType>17</rasd:ResourceType><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource></Item>"
                          "</VirtualHardwareSection></VirtualSystem></Envelope>",
                          href, format, vcpus, memory);
}

static void
write_ova (const char *name,
           const char *ovf,
           const char *disk_member,
           const char *disk_file)
{
  g_autoptr(GByteArray) tar = g_byte_array_new ();
  g_autofree char *path = tmp_path (name);

  tar_add (tar, "appliance.ovf", ovf, strlen (ovf));
  if (disk_file != NULL)
    {
      g_autofree char *src = tmp_path (disk_file);
      g_autoptr(GBytes) disk = read_file (src);

      tar_add (tar, disk_member, g_bytes_get_data (disk, NULL), g_bytes_get_size (disk));
    }
  tar_end (tar);
  write_bytes (path, tar->data, tar->len);
}

static void
test_inspect_images (void)
{
  static const struct { const char *file, *format; } cases[] = {
    { "disk.vmdk", "vmdk" }, { "disk.vdi", "vdi" }, { "disk.vhd", "vpc" }, { "fixed.vhd", "vpc" },
    { "disk.vhdx", "vhdx" }, { "disk.qcow2", "qcow2" }, { "disk.img", "raw" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TsrImportInfo) info = inspect_file (cases[i].file, &error);
      TsrImportDisk *disk;

      g_assert_no_error (error);
      g_assert_cmpstr (info->kind, ==, "disk");
      g_assert_cmpstr (info->name, ==, g_str_has_prefix (cases[i].file, "fixed") ? "fixed" : "disk");
      g_assert_cmpuint (info->disks->len, ==, 1);
      disk = g_ptr_array_index (info->disks, 0);
      g_test_message ("%s: %s, %" G_GUINT64_FORMAT " bytes, needs %" G_GUINT64_FORMAT,
                      cases[i].file, disk->format, disk->capacity, disk->required);
      g_assert_cmpstr (disk->format, ==, cases[i].format);
      /* VHD rounds sizes to its own geometry */
      g_assert_cmpuint (disk->capacity, >=, 4 * 1024 * 1024);
      g_assert_cmpuint (disk->capacity, <, 5 * 1024 * 1024);
      g_assert_cmpuint (disk->required, >, 256 * 1024);
      g_assert_nonnull (strstr (disk->source, "\"backing\":null"));
      g_assert_cmpuint (info->memory, ==, 0);
    }
}

static char *
make_app_ova (void)
{
  char *ovf = appliance_ovf ("app-disk001.vmdk",
                             "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized",
                             768, 1);

  write_ova ("app.ova", ovf, "app-disk001.vmdk", "disk.vmdk");
  return ovf;
}

/* A flat VMDK: a descriptor and its -flat.vmdk extent beside it. */
static void
test_inspect_flat_vmdk (void)
{
  g_autofree char *path = tmp_path ("split.vmdk");
  g_autofree char *cmd = g_strdup_printf ("qemu-img create -q -f vmdk -o subformat=monolithicFlat %s 4M",
                                          path);
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrImportInfo) info = NULL;
  TsrImportDisk *disk;

  tsr_test_run_command (cmd);
  info = inspect_file ("split.vmdk", &error);
  g_assert_no_error (error);
  disk = g_ptr_array_index (info->disks, 0);
  g_assert_cmpstr (disk->format, ==, "vmdk");
  g_assert_cmpuint (disk->capacity, ==, 4 * 1024 * 1024);
}

static void
test_inspect_ova (void)
{
  g_autofree char *ovf = make_app_ova ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrImportInfo) info = NULL;
  g_autoptr(TsrCreateSpec) spec = NULL;
  TsrImportDisk *disk;

  info = inspect_file ("app.ova", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->kind, ==, "ova");
  g_assert_cmpstr (info->name, ==, "Test-Appliance");
  g_assert_cmpstr (info->appliance_name, ==, "Test Appliance");
  g_assert_cmpuint (info->memory, ==, 768);
  g_assert_cmpuint (info->vcpus, ==, 1);
  disk = g_ptr_array_index (info->disks, 0);
  g_assert_cmpstr (disk->format, ==, "vmdk");
  g_assert_cmpuint (disk->capacity, ==, 4 * 1024 * 1024);
  /* read in place: an offset into the .ova, no copy */
  {
    g_autofree char *offset = g_strdup_printf ("\"offset\":%zu,", 1024 + (strlen (ovf) + 511) / 512 * 512);

    g_assert_nonnull (strstr (disk->source, offset));
  }
  g_assert_nonnull (strstr (disk->source, "app.ova"));
  g_assert_cmpuint (info->required, ==, disk->required);

  spec = tsr_import_info_make_spec (info);
  g_assert_cmpstr (spec->name, ==, "Test-Appliance");
  g_assert_cmpuint (spec->memory, ==, 768);
  g_assert_cmpuint (spec->vcpus, ==, 1);
  g_assert_cmpstr (spec->firmware, ==, "bios");

  /* the same appliance, unpacked: .ovf with the disk beside it */
  {
    g_autofree char *ovf_path = tmp_path ("unpacked.ovf");
    g_autofree char *disk_path = tmp_path ("app-disk001.vmdk");
    g_autofree char *vmdk_path = tmp_path ("disk.vmdk");
    g_autoptr(GBytes) vmdk = read_file (vmdk_path);
    g_autoptr(TsrImportInfo) unpacked = NULL;

    write_bytes (ovf_path, ovf, strlen (ovf));
    write_bytes (disk_path, g_bytes_get_data (vmdk, NULL), g_bytes_get_size (vmdk));
    unpacked = inspect_file ("unpacked.ovf", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (unpacked->kind, ==, "ovf");
    g_assert_cmpuint (unpacked->memory, ==, 768);
    g_assert_cmpstr (unpacked->move_paths[0], ==, ovf_path);
    g_assert_cmpstr (unpacked->move_paths[1], ==, disk_path);
    g_unlink (disk_path);
  }
}

static void
test_inspect_zip (void)
{
  g_autofree char *ova = tmp_path ("app.ova");
  g_autofree char *temp = tmp_path ("temp");
  g_autofree char *cmd = NULL;
  g_autoptr(GError) error = NULL;

  g_free (make_app_ova ());
  g_assert_true (g_file_test (ova, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (g_getenv ("TMPDIR"), ==, temp);
  cmd = g_strdup_printf ("sh -c 'cd %s && zip -q -0 stored.zip app.ova && zip -q deflated.zip app.ova "
                         "&& zip -q vdi.zip disk.vdi'", tmpdir);
  tsr_test_run_command (cmd);

  {
    g_autoptr(TsrImportInfo) info = inspect_file ("stored.zip", &error);

    g_assert_no_error (error);
    g_assert_cmpstr (info->kind, ==, "zip/ova");
    g_assert_cmpuint (info->memory, ==, 768);
    g_assert_cmpuint (info->temp_size, ==, 0);
    g_assert_null (info->temp_dir);
  }
  {
    g_autoptr(TsrImportInfo) info = inspect_file ("deflated.zip", &error);

    g_assert_no_error (error);
    g_assert_cmpstr (info->kind, ==, "zip/ova");
    g_assert_cmpuint (info->vcpus, ==, 1);
    g_assert_cmpuint (info->temp_size, >, 0);
    g_assert_true (g_str_has_prefix (info->temp_dir, temp));
    g_assert_true (g_file_test (info->temp_dir, G_FILE_TEST_IS_DIR));
  }
  {
    g_autoptr(TsrImportInfo) info = inspect_file ("vdi.zip", &error);
    TsrImportDisk *disk;

    g_assert_no_error (error);
    g_assert_cmpstr (info->kind, ==, "zip/disk");
    disk = g_ptr_array_index (info->disks, 0);
    g_assert_cmpstr (disk->format, ==, "vdi");
    g_assert_cmpuint (disk->capacity, ==, 4 * 1024 * 1024);
  }

  /* Dropping the info removed what it unpacked. */
  {
    g_autoptr(GDir) dir = g_dir_open (temp, 0, NULL);

    g_assert_null (g_dir_read_name (dir));
  }
}

typedef void (*FileMaker) (void);

static void
make_missing_disk (void)
{
  g_autofree char *ovf = appliance_ovf ("missing.vmdk", "vmdk", 512, 1);

  write_ova ("bad.ova", ovf, "other.vmdk", "disk.vmdk");
}

static void
make_dotdot_member (void)
{
  g_autofree char *ovf = appliance_ovf ("disk.vmdk", "vmdk", 512, 1);

  write_ova ("bad.ova", ovf, "../x", "disk.vmdk");
}

static void
make_not_xml (void)
{
  write_ova ("bad.ova", "this is not { XML", "disk.vmdk", "disk.vmdk");
}

static void
make_raw_as_vmdk (void)
{
  g_autofree char *ovf = appliance_ovf ("disk.vmdk", "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized", 512, 1);

  write_ova ("bad.ova", ovf, "disk.vmdk", "disk.img");
}

static void
make_vdi_as_vmdk (void)
{
  g_autofree char *ovf = appliance_ovf ("disk.vmdk", "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized", 512, 1);

  write_ova ("bad.ova", ovf, "disk.vmdk", "disk.vdi");
}

static void
make_truncated_ova (void)
{
  g_autofree char *ovf = appliance_ovf ("disk.vmdk", "vmdk", 512, 1);
  g_autofree char *path = tmp_path ("bad.ova");

  write_ova ("bad.ova", ovf, "disk.vmdk", "disk.vmdk");
  g_assert_cmpint (truncate (path, 4096), ==, 0);
}

static void
make_no_ovf (void)
{
  g_autoptr(GByteArray) tar = g_byte_array_new ();
  g_autofree char *path = tmp_path ("bad.ova");

  tar_add (tar, "readme.txt", "hello", 5);
  tar_end (tar);
  write_bytes (path, tar->data, tar->len);
}

/* A descriptor whose extent is a file elsewhere on the host. */
static void
make_descriptor_escape (void)
{
  g_autofree char *sub = tmp_path ("elsewhere");
  g_autofree char *secret = g_build_filename (sub, "secret.img", NULL);
  g_autofree char *path = tmp_path ("bad.vmdk");
  g_autofree char *descriptor = NULL;
  char zeros[4096] = { 0 };

  g_mkdir (sub, 0700);
  write_bytes (secret, zeros, sizeof zeros);
  descriptor = g_strdup_printf ("# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
                                "parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n"
                                "# Extent description\nRW 8 FLAT \"%s\" 0\n\n"
                                "ddb.adapterType = \"ide\"\n", secret);
  write_bytes (path, descriptor, strlen (descriptor));
}

/* The other way to hide a descriptor: a sparse VMDK whose capacity is 0
 * carries one in its header, and qemu follows the extents it names.
 */
static void
make_sparse_escape (void)
{
  g_autofree char *secret = tmp_path ("elsewhere/secret.img");
  g_autofree char *path = tmp_path ("evil.vmdk");
  g_autofree char *cmd = g_strdup_printf ("qemu-img create -q -f vmdk -o subformat=monolithicSparse %s 1M",
                                          path);
  g_autofree char *descriptor = NULL;
  g_autofree guint8 *data = NULL;
  guint64 desc_offset, desc_size;
  gsize len;

  make_descriptor_escape ();   /* makes elsewhere/secret.img */
  tsr_test_run_command (cmd);
  g_assert_true (g_file_get_contents (path, (char **) &data, &len, NULL));
  memset (data + 12, 0, 8);   /* capacity */
  memcpy (&desc_offset, data + 28, 8);
  memcpy (&desc_size, data + 36, 8);
  descriptor = g_strdup_printf ("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                                "createType=\"monolithicFlat\"\n\nRW 8 FLAT \"%s\" 0\n", secret);
  g_assert_cmpuint ((desc_offset + desc_size) * 512, <=, len);
  memset (data + desc_offset * 512, 0, desc_size * 512);
  memcpy (data + desc_offset * 512, descriptor, strlen (descriptor));
  write_bytes (path, data, len);
}

static void
make_sparse_escape_in_ova (void)
{
  g_autofree char *ovf = appliance_ovf ("disk.vmdk", "vmdk", 512, 1);

  make_sparse_escape ();
  write_ova ("bad.ova", ovf, "disk.vmdk", "evil.vmdk");
}

/* A descriptor beside a file that is not a VMDK extent (say, the user's
 * own files next to a download).
 */
static void
make_descriptor_sibling (void)
{
  static const char descriptor[] =
    "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
    "createType=\"monolithicFlat\"\n\nRW 8 FLAT \"notes.txt\" 0\n";
  g_autofree char *notes = tmp_path ("notes.txt");
  g_autofree char *path = tmp_path ("sibling.vmdk");
  char text[4096];

  memset (text, 'n', sizeof text);
  write_bytes (notes, text, sizeof text);
  write_bytes (path, descriptor, strlen (descriptor));
}

static void
make_descriptor_in_ova (void)
{
  g_autofree char *ovf = appliance_ovf ("disk.vmdk", "vmdk", 512, 1);

  make_descriptor_escape ();
  write_ova ("bad.ova", ovf, "disk.vmdk", "bad.vmdk");
}

static const struct
{
  const char *what;
  FileMaker   make;
  const char *file;
  int         code;
  const char *expect;
} bad_files[] = {
  { "missing", NULL, "no-such-file.ova", TSR_ERROR_MEDIA_NOT_FOUND, "does not exist" },
  { "OVF names a missing disk", make_missing_disk, "bad.ova", TSR_ERROR_INVALID_VALUE, "does not hold it" },
  { "member ../x", make_dotdot_member, "bad.ova", TSR_ERROR_INVALID_VALUE, "outside" },
  { "OVF not XML", make_not_xml, "bad.ova", TSR_ERROR_INVALID_VALUE, "not valid XML" },
  { "raw image given as VMDK", make_raw_as_vmdk, "bad.ova", TSR_ERROR_INVALID_VALUE, "VMDK" },
  { "VDI given as VMDK", make_vdi_as_vmdk, "bad.ova", TSR_ERROR_INVALID_VALUE, "header says VDI" },
  { "truncated OVA", make_truncated_ova, "bad.ova", TSR_ERROR_INVALID_VALUE, "truncated" },
  { "OVA without OVF", make_no_ovf, "bad.ova", TSR_ERROR_INVALID_VALUE, "no OVF" },
  { "raw file named .vmdk", NULL, "raw.vmdk", TSR_ERROR_INVALID_VALUE, "raw disk image" },
  { "unknown extension, no header", NULL, "nothing.dat", TSR_ERROR_INVALID_VALUE, "cannot tell" },
  { "qcow2 with a backing file", NULL, "overlay.qcow2", TSR_ERROR_NOT_SUPPORTED, "snapshot" },
  { "VMDK descriptor naming /etc", make_descriptor_escape, "bad.vmdk", TSR_ERROR_INVALID_VALUE, "names data files elsewhere" },
  { "VMDK descriptor in an OVA", make_descriptor_in_ova, "bad.ova", TSR_ERROR_NOT_SUPPORTED, "descriptor" },
  { "sparse VMDK hiding a descriptor", make_sparse_escape, "evil.vmdk", TSR_ERROR_INVALID_VALUE, "names data files elsewhere" },
  { "the same in an OVA", make_sparse_escape_in_ova, "bad.ova", TSR_ERROR_INVALID_VALUE, "names data files elsewhere" },
  { "descriptor naming a sibling file", make_descriptor_sibling, "sibling.vmdk", TSR_ERROR_INVALID_VALUE, "names data files elsewhere" },
};

static void
test_inspect_refused (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_files); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TsrImportInfo) info = NULL;

      if (bad_files[i].make != NULL)
        bad_files[i].make ();
      info = inspect_file (bad_files[i].file, &error);
      g_test_message ("%s: %s", bad_files[i].what, error ? error->message : "(accepted)");
      g_assert_null (info);
      g_assert_error (error, TSR_ERROR, bad_files[i].code);
      g_assert_nonnull (strstr (error->message, bad_files[i].expect));
    }
}

/* Import on the test driver */

static char *
snapshot (TsrConnection *conn)
{
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autoptr(GString) out = g_string_new (NULL);
  virDomainPtr *doms = NULL;
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, "default-pool");
  virStorageVolPtr *vols = NULL;
  int n;

  n = virConnectListAllDomains (handle, &doms, 0);
  for (int i = 0; i < n; i++)
    {
      g_string_append_printf (out, "domain %s\n", virDomainGetName (doms[i]));
      virDomainFree (doms[i]);
    }
  free (doms);
  n = virStoragePoolListAllVolumes (pool, &vols, 0);
  for (int i = 0; i < n; i++)
    {
      g_string_append_printf (out, "volume %s\n", virStorageVolGetName (vols[i]));
      virStorageVolFree (vols[i]);
    }
  free (vols);
  virStoragePoolFree (pool);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static TsrCreateSpec *
node_spec (TsrImportInfo *info,
           const char    *name)
{
  TsrCreateSpec *spec = tsr_import_info_make_spec (info);

  g_free (spec->name);
  spec->name = g_strdup (name);
  g_free (spec->netvm);
  spec->netvm = g_strdup ("tessera-unit");
  g_free (spec->pool);
  spec->pool = g_strdup ("default-pool");
  return spec;
}

static char *
import (TsrConnection  *conn,
        TsrImportInfo  *info,
        TsrCreateSpec  *spec,
        GCancellable   *cancellable,
        GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tsr_connection_import_async (conn, info, spec, TSR_IMPORT_FLAGS_NONE, NULL, NULL, cancellable,
                               tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  return tsr_connection_import_finish (conn, result, NULL, error);
}

/* The test driver's volumes are not files, so qemu-img cannot write them:
 * the conversion fails after the volume was made, which is what the
 * rollback must clean up. Refusals before it must make nothing at all.
 */
static void
test_import_rollback (void)
{
  TsrConnection *conn = tsr_test_open_node (30);
  g_autofree char *before = snapshot (conn);
  g_autofree char *ovf = make_app_ova ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrImportInfo) info = inspect_file ("app.ova", &error);
  struct { const char *what; const char *name; const char *label; guint64 memory;
           gboolean cancel; GQuark domain; int code; } cases[] = {
    { "conversion fails", "imported-vm", "red", 512, FALSE, TSR_ERROR, TSR_ERROR_FAILED },
    { "name in use", "vault", "red", 512, FALSE, TSR_ERROR, TSR_ERROR_NAME_IN_USE },
    { "invalid name", "1bad", "red", 512, FALSE, TSR_ERROR, TSR_ERROR_INVALID_NAME },
    { "bad label", "imported-vm", "pink", 512, FALSE, TSR_ERROR, TSR_ERROR_INVALID_VALUE },
    { "too little memory", "imported-vm", "red", 16, FALSE, TSR_ERROR, TSR_ERROR_INVALID_VALUE },
    { "cancelled", "imported-vm", "red", 512, TRUE, G_IO_ERROR, G_IO_ERROR_CANCELLED },
  };

  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(TsrCreateSpec) spec = node_spec (info, cases[i].name);
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GError) local_error = NULL;
      g_autofree char *name = NULL;
      g_autofree char *after = NULL;

      g_free (spec->label);
      spec->label = g_strdup (cases[i].label);
      spec->memory = cases[i].memory;
      if (cases[i].cancel)
        g_cancellable_cancel (cancellable);
      name = import (conn, info, spec, cancellable, &local_error);
      g_test_message ("%s: %s", cases[i].what, local_error ? local_error->message : "(imported)");
      g_assert_null (name);
      g_assert_error (local_error, cases[i].domain, cases[i].code);
      after = snapshot (conn);
      g_assert_cmpstr (after, ==, before);
    }

  tsr_test_close_connection (conn, 2);
}

/* Create with volumes the caller made: attached in order, left in place
 * when creating fails; check_only makes nothing.
 */
static void
test_create_with_volumes (void)
{
  TsrConnection *conn = tsr_test_open_node (30);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, "default-pool");
  const char *names[] = { "made-root.qcow2", "made-disk2.qcow2", "made-disk3.img" };
  g_autofree char *before = NULL;
  g_autofree char *xml = NULL;
  virDomainPtr dom;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *vol_xml = g_strdup_printf ("<volume><name>%s</name><capacity>1048576</capacity>"
                                                  "<target><format type='%s'/></target></volume>",
                                                  names[i], i == 2 ? "raw" : "qcow2");
      virStorageVolPtr vol = virStorageVolCreateXML (pool, vol_xml, 0);

      g_assert_nonnull (vol);
      virStorageVolFree (vol);
    }
  before = snapshot (conn);

  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(TsrCreateSpec) spec = tsr_create_spec_new ("made");
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *name = NULL;
      g_autofree char *after = NULL;

      g_free (spec->netvm);
      spec->netvm = g_strdup ("none");
      g_free (spec->pool);
      spec->pool = g_strdup ("default-pool");
      spec->vcpus = 1;
      spec->root_volume = g_strdup (names[0]);
      spec->extra_volumes = g_new0 (char *, 3);
      spec->extra_volumes[0] = g_strdup (names[1]);
      spec->extra_volumes[1] = g_strdup (names[2]);
      if (round == 0)
        spec->check_only = TRUE;
      else if (round == 1)
        spec->extra_volumes[1][0] = 'X';   /* no such volume: fails after validation */

      tsr_connection_create_vm_async (conn, spec, NULL, NULL, NULL, tsr_test_store_result_cb, &result);
      WAIT_UNTIL (result != NULL);
      name = tsr_connection_create_vm_finish (conn, result, NULL, &error);
      after = snapshot (conn);
      if (round < 2)
        {
          /* nothing defined, the caller's volumes untouched */
          g_assert_cmpstr (after, ==, before);
          if (round == 0)
            {
              g_assert_no_error (error);
              g_assert_cmpstr (name, ==, "made");
            }
          else
            g_assert_nonnull (error);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_cmpstr (name, ==, "made");
        }
    }

  dom = virDomainLookupByName (handle, "made");
  g_assert_nonnull (dom);
  xml = virDomainGetXMLDesc (dom, 0);
  g_assert_nonnull (strstr (xml, "made-root.qcow2"));
  g_assert_nonnull (strstr (xml, "made-disk2.qcow2"));
  g_assert_nonnull (strstr (xml, "made-disk3.img"));
  g_assert_nonnull (strstr (xml, "dev='vdb'"));
  g_assert_nonnull (strstr (xml, "dev='vdc'"));
  g_assert_true (strstr (xml, "made-disk2.qcow2") < strstr (xml, "made-disk3.img"));
  virDomainUndefine (dom);
  virDomainFree (dom);
  virStoragePoolFree (pool);
  tsr_test_close_connection (conn, 2);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *qemu_img = g_find_program_in_path ("qemu-img");
  gboolean have_qemu_img = qemu_img != NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  tmpdir = g_dir_make_tmp ("tessera-import-test-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  /* Where a compressed .zip member is unpacked; set before any thread. */
  {
    g_autofree char *temp = tmp_path ("temp");

    g_mkdir (temp, 0700);
    g_setenv ("TMPDIR", temp, TRUE);
  }

  g_test_add_func ("/import/tar/basic", test_tar_basic);
  g_test_add_func ("/import/tar/long-names", test_tar_long_names);
  g_test_add_func ("/import/tar/refused", test_tar_refused);
  g_test_add_func ("/import/zip/basic", test_zip);
  g_test_add_func ("/import/zip/refused", test_zip_refused);
  g_test_add_func ("/import/ovf/virtualbox", test_ovf_virtualbox);
  g_test_add_func ("/import/ovf/variants", test_ovf_variants);
  g_test_add_func ("/import/ovf/refused", test_ovf_refused);
  g_test_add_func ("/import/sniff", test_sniff);
  g_test_add_func ("/import/suggest-name", test_suggest_name);
  /* The images are made with qemu-img; the tests using them are skipped
   * without it.
   */
  if (have_qemu_img)
    make_images ();
  tsr_test_add_func_needing ("/import/inspect/images", test_inspect_images, "qemu-img", NULL);
  tsr_test_add_func_needing ("/import/inspect/flat-vmdk", test_inspect_flat_vmdk, "qemu-img",
                             NULL);
  tsr_test_add_func_needing ("/import/inspect/ova", test_inspect_ova, "qemu-img", NULL);
  tsr_test_add_func_needing ("/import/inspect/zip", test_inspect_zip, "qemu-img", "zip", NULL);
  tsr_test_add_func_needing ("/import/inspect/refused", test_inspect_refused, "qemu-img", NULL);
  tsr_test_add_func_needing ("/import/run/rollback", test_import_rollback, "qemu-img", NULL);
  g_test_add_func ("/import/create/with-volumes", test_create_with_volumes);

  ret = g_test_run ();

  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf %s", tmpdir);

    tsr_test_run_command (cmd);
  }
  return ret;
}
