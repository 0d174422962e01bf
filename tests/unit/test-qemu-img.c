/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The qemu-img module: its JSON readers fed with saved output of QEMU 7.2
 * and hand-written output of QEMU >= 8 (tests/data/qemu-img/README), the
 * progress reader, and real conversions, one of them cancelled.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "tsr-error.h"
#include "tsr-qemu-img.h"

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)

static char *
read_sample (const char *name)
{
  g_autofree char *path = g_build_filename (TSR_TEST_DATA, "qemu-img", name, NULL);
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static TsrImageInfo *
parse_info_sample (const char *name)
{
  g_autofree char *json = read_sample (name);
  g_autoptr(GError) error = NULL;
  TsrImageInfo *info = NULL;

  g_assert_true (tsr_qemu_img_parse_info (json, &info, &error));
  g_assert_no_error (error);
  g_assert_nonnull (info);
  return info;
}

/* What a QEMU >= 8 sample says of its first child: what a reader of the
 * whole text would find first.
 */
static void
assert_child_differs (const char *name,
                      guint64     top_size)
{
  g_autofree char *json = read_sample (name);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root, *child;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  child = json_object_get_object_member (json_array_get_object_element (
                                           json_object_get_array_member (root, "children"), 0),
                                         "info");
  g_assert_true (g_str_equal (json_object_get_string_member (child, "format"), "file") ||
                 g_str_equal (json_object_get_string_member (child, "format"), "raw"));
  g_assert_cmpuint (json_object_get_int_member (child, "virtual-size"), !=, top_size);
}

static void
test_info_qcow2 (void)
{
  const char *samples[] = { "info-qcow2-7.2.json", "info-qcow2-8.json" };

  assert_child_differs ("info-qcow2-8.json", 64 * MIB);
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autoptr(TsrImageInfo) info = parse_info_sample (samples[i]);

      g_test_message ("%s", samples[i]);
      g_assert_cmpstr (info->format, ==, "qcow2");
      g_assert_cmpuint (info->virtual_size, ==, 64 * MIB);
      g_assert_cmpuint (info->actual_size, ==, 2363392);
      g_assert_cmpstr (info->filename, ==, "/tmp/tsr-qemu-img-samples/disk.qcow2");
      g_assert_null (info->backing_filename);
      g_assert_null (info->data_file);
      g_assert_false (info->has_parent_cid);
      g_assert_cmpuint (g_strv_length (info->extents), ==, 0);
    }
}

static void
test_info_raw (void)
{
  const char *samples[] = { "info-raw-7.2.json", "info-raw-8.json" };

  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autoptr(TsrImageInfo) info = parse_info_sample (samples[i]);

      g_test_message ("%s", samples[i]);
      g_assert_cmpstr (info->format, ==, "raw");
      g_assert_cmpuint (info->virtual_size, ==, 32 * MIB);
      g_assert_cmpuint (info->actual_size, ==, 1 * MIB);
      g_assert_null (info->backing_filename);
      g_assert_null (info->data_file);
    }
}

/* The .vmdk member of an .ova, read at its offset: the image is a 16 MiB
 * vmdk, its nodes a 64 KiB raw window on a 70 KiB file; the only extent is
 * the member itself (a json: name), not the .ova a child names.
 */
static void
test_info_vmdk_in_tar (void)
{
  const char *samples[] = { "info-vmdk-tar-7.2.json", "info-vmdk-tar-8.json" };

  assert_child_differs ("info-vmdk-tar-8.json", 16 * MIB);
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autoptr(TsrImageInfo) info = parse_info_sample (samples[i]);

      g_test_message ("%s", samples[i]);
      g_assert_cmpstr (info->format, ==, "vmdk");
      g_assert_cmpuint (info->virtual_size, ==, 16 * MIB);
      g_assert_true (g_str_has_prefix (info->filename, "json:"));
      g_assert_null (info->backing_filename);
      g_assert_true (info->has_parent_cid);
      g_assert_cmpuint (info->parent_cid, ==, G_MAXUINT32);
      g_assert_cmpuint (g_strv_length (info->extents), ==, 1);
      g_assert_true (g_str_has_prefix (info->extents[0], "json:{\"offset\": 1536,"));
    }
}

static void
test_info_backing (void)
{
  g_autoptr(TsrImageInfo) info = parse_info_sample ("info-qcow2-backing-7.2.json");

  g_assert_cmpstr (info->format, ==, "qcow2");
  g_assert_cmpstr (info->backing_filename, ==, "disk.qcow2");
}

/* Members of nested nodes never count as the image's: a backing file
 * below, a data file in a child's format-specific data.
 */
static void
test_info_top_level_only (void)
{
  const char *json =
    "{ \"children\": [ { \"name\": \"file\", \"info\": { \"children\": [],"
    "    \"format\": \"file\", \"virtual-size\": 512, \"filename\": \"/etc/passwd\","
    "    \"backing-filename\": \"/etc/shadow\","
    "    \"format-specific\": { \"type\": \"qcow2\", \"data\": { \"data-file\": \"/etc/shadow\" } } } } ],"
    "  \"format\": \"qcow2\", \"virtual-size\": 1048576, \"filename\": \"a.qcow2\","
    "  \"format-specific\": { \"type\": \"qcow2\", \"data\": { \"data-file-raw\": false } } }";
  const char *with_data_file =
    "{ \"format\": \"qcow2\", \"virtual-size\": 1048576,"
    "  \"format-specific\": { \"type\": \"qcow2\","
    "                         \"data\": { \"data-file\": \"data.raw\", \"data-file-raw\": true } } }";
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrImageInfo) info = NULL;
  g_autoptr(TsrImageInfo) info2 = NULL;

  g_assert_true (tsr_qemu_img_parse_info (json, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (info->format, ==, "qcow2");
  g_assert_cmpuint (info->virtual_size, ==, MIB);
  g_assert_cmpstr (info->filename, ==, "a.qcow2");
  g_assert_null (info->backing_filename);
  g_assert_null (info->data_file);

  g_assert_true (tsr_qemu_img_parse_info (with_data_file, &info2, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (info2->data_file, ==, "data.raw");
}

static void
test_info_malformed (void)
{
  const char *cases[] = {
    "{ \"format\": \"qcow2\", \"virtual-size\": ",
    "qemu-img: Could not open 'x': No such file or directory",
    "",
    "[ { \"format\": \"raw\" } ]",
    "{ \"virtual-size\": 1048576 }",
    "{ \"format\": \"raw\", \"virtual-size\": \"big\" }",
    "{ \"format\": \"raw\", \"virtual-size\": -1 }",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      TsrImageInfo *info = NULL;

      g_test_message ("%s", cases[i]);
      g_assert_false (tsr_qemu_img_parse_info (cases[i], &info, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
      g_assert_cmpstr (error->message, !=, "");
      g_assert_null (info);
    }
}

static void
assert_extent (GArray   *extents,
               guint     index,
               guint64   start,
               guint64   length,
               gboolean  data,
               gboolean  zero,
               gboolean  has_offset,
               guint64   offset)
{
  const TsrImageExtent *e = &g_array_index (extents, TsrImageExtent, index);

  g_assert_cmpuint (e->start, ==, start);
  g_assert_cmpuint (e->length, ==, length);
  g_assert_cmpint (e->data, ==, data);
  g_assert_cmpint (e->zero, ==, zero);
  g_assert_cmpint (e->has_offset, ==, has_offset);
  if (has_offset)
    g_assert_cmpuint (e->offset, ==, offset);
  g_assert_cmpuint (e->depth, ==, 0);
}

static GArray *
parse_map_sample (const char *name)
{
  g_autofree char *json = read_sample (name);
  g_autoptr(GError) error = NULL;
  GArray *extents = NULL;

  g_assert_true (tsr_qemu_img_parse_map (json, &extents, &error));
  g_assert_no_error (error);
  return extents;
}

static void
test_map (void)
{
  const char *qcow2[] = { "map-qcow2-7.2.json", "map-qcow2-8.json" };
  const char *vmdk[] = { "map-vmdk-tar-7.2.json", "map-vmdk-tar-8.json" };

  for (guint i = 0; i < G_N_ELEMENTS (qcow2); i++)
    {
      g_autoptr(GArray) extents = parse_map_sample (qcow2[i]);

      g_assert_cmpuint (extents->len, ==, 3);
      assert_extent (extents, 0, 0, MIB, FALSE, TRUE, FALSE, 0);
      assert_extent (extents, 1, MIB, 2 * MIB, TRUE, FALSE, TRUE, 327680);
      assert_extent (extents, 2, 3 * MIB, 61 * MIB, FALSE, TRUE, FALSE, 0);
    }
  for (guint i = 0; i < G_N_ELEMENTS (vmdk); i++)
    {
      g_autoptr(GArray) extents = parse_map_sample (vmdk[i]);

      g_assert_cmpuint (extents->len, ==, 1);
      assert_extent (extents, 0, 0, 16 * MIB, FALSE, TRUE, FALSE, 0);
      g_assert_false (g_array_index (extents, TsrImageExtent, 0).present);
    }
  {
    g_autoptr(GArray) extents = parse_map_sample ("map-raw-7.2.json");

    g_assert_cmpuint (extents->len, ==, 2);
    assert_extent (extents, 0, 0, MIB, TRUE, FALSE, TRUE, 0);
    assert_extent (extents, 1, MIB, 31 * MIB, FALSE, TRUE, TRUE, MIB);
    g_assert_true (g_array_index (extents, TsrImageExtent, 1).present);
  }
}

static void
test_map_malformed (void)
{
  const char *cases[] = {
    "[{ \"start\": 0, \"length\": 1048576, ",
    "{ \"start\": 0, \"length\": 1048576 }",
    "[{ \"length\": 1048576 }]",
    "[ 1, 2 ]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      GArray *extents = NULL;

      g_test_message ("%s", cases[i]);
      g_assert_false (tsr_qemu_img_parse_map (cases[i], &extents, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
      g_assert_null (extents);
    }
}

static void
test_measure (void)
{
  /* QEMU 7.2, the vmdk in the .ova measured as qcow2 */
  const char *json = "{\n    \"required\": 327680,\n    \"fully-allocated\": 4521984\n}\n";
  g_autoptr(GError) error = NULL;
  guint64 required = 0;

  g_assert_true (tsr_qemu_img_parse_measure (json, &required, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (required, ==, 327680);

  g_assert_false (tsr_qemu_img_parse_measure ("{ \"fully-allocated\": 1 }", &required, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
}

/* `qemu-img convert -p` writes "    (12.50/100%)\r"; messages end in '\n'
 * and may come between marks, in pieces.
 */
static void
test_progress_parse (void)
{
  g_autoptr(GString) buffer = g_string_new ("    (0.00/100%)\r    (12.50/100%)\r    (25");
  g_autoptr(GString) messages = g_string_new (NULL);

  g_assert_cmpfloat_with_epsilon (tsr_qemu_img_take_progress (buffer, messages), 12.5, 1e-9);
  g_assert_cmpstr (buffer->str, ==, "    (25");
  g_assert_cmpstr (messages->str, ==, "");

  g_assert_cmpfloat (tsr_qemu_img_take_progress (buffer, messages), ==, -1);
  g_assert_cmpstr (buffer->str, ==, "    (25");

  g_string_append (buffer, ".00/100%)\rqemu-img: error while writing at byte 0: No space left on"
                           " device\n    (100.00/100%)\r");
  g_assert_cmpfloat_with_epsilon (tsr_qemu_img_take_progress (buffer, messages), 100, 1e-9);
  g_assert_cmpstr (buffer->str, ==, "");
  g_assert_cmpstr (messages->str, ==, "qemu-img: error while writing at byte 0: No space left on device");

  /* a parenthesis in a message is no mark */
  g_string_assign (buffer, "qemu-img: warning (not a mark)\n(50/100%)\r(7/10%)\n");
  g_string_truncate (messages, 0);
  g_assert_cmpfloat_with_epsilon (tsr_qemu_img_take_progress (buffer, messages), 50, 1e-9);
  g_assert_cmpstr (messages->str, ==, "qemu-img: warning (not a mark)\n(7/10%)");
}

static void
assert_member_string (JsonObject *object,
                      const char *name,
                      const char *value)
{
  g_assert_true (json_object_has_member (object, name));
  g_assert_cmpstr (json_object_get_string_member (object, name), ==, value);
}

/* The json: name of a disk in an archive, the form the samples were made
 * with; odd paths must come back whole.
 */
static void
test_region_filename (void)
{
  const char *paths[] = { "/tmp/a \"quoted\" \\ path/été & <x>.ova", "/tmp/tsr-qemu-img-samples/app.ova" };
  g_autofree char *whole = tsr_qemu_img_region_filename ("qcow2", "/tmp/disk.qcow2", TRUE, 0, 0);
  g_autofree char *sample = tsr_qemu_img_region_filename ("vmdk", paths[1], FALSE, 1536, 65536);

  g_assert_cmpstr (sample, ==,
                   "json:{\"driver\":\"vmdk\",\"backing\":null,\"file\":{\"driver\":\"raw\","
                   "\"offset\":1536,\"size\":65536,\"file\":{\"driver\":\"file\","
                   "\"filename\":\"/tmp/tsr-qemu-img-samples/app.ova\"}}}");
  g_assert_cmpstr (whole, ==,
                   "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\","
                   "\"filename\":\"/tmp/disk.qcow2\"}}");

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *name = tsr_qemu_img_region_filename ("vmdk", paths[i], FALSE,
                                                            G_GUINT64_CONSTANT (1) << 40, 512);
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      JsonObject *root, *window, *file;

      g_assert_true (g_str_has_prefix (name, "json:"));
      json_parser_load_from_data (parser, name + strlen ("json:"), -1, &error);
      g_assert_no_error (error);
      root = json_node_get_object (json_parser_get_root (parser));
      assert_member_string (root, "driver", "vmdk");
      g_assert_true (json_node_is_null (json_object_get_member (root, "backing")));
      window = json_object_get_object_member (root, "file");
      assert_member_string (window, "driver", "raw");
      g_assert_cmpint (json_object_get_int_member (window, "offset"), ==, G_GINT64_CONSTANT (1) << 40);
      g_assert_cmpint (json_object_get_int_member (window, "size"), ==, 512);
      file = json_object_get_object_member (window, "file");
      assert_member_string (file, "driver", "file");
      assert_member_string (file, "filename", paths[i]);
    }
}

/* Real qemu-img */

static gboolean
have_qemu_img (void)
{
  g_autofree char *path = g_find_program_in_path ("qemu-img");

  if (path == NULL)
    g_test_skip ("qemu-img is not installed (Debian: qemu-utils)");
  return path != NULL;
}

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("tsr-qemu-img-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
remove_temp_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
count_progress_cb (guint64     done,
                   guint64     total,
                   const char *stage,
                   gpointer    user_data)
{
  guint *count = user_data;

  g_assert_cmpuint (done, <=, total);
  g_assert_cmpstr (stage, ==, "Converting");
  (*count)++;
}

/* 1 MiB of a pattern then 3 MiB of zeros, raw → qcow2 → raw. */
static void
test_convert (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *src = NULL;
  g_autofree char *mid = NULL;
  g_autofree char *back = NULL;
  g_autofree guint8 *pattern = g_malloc0 (4 * MIB);
  g_autofree char *result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrImageInfo) info = NULL;
  g_autoptr(GArray) extents = NULL;
  guint reports = 0;
  TsrProgress progress = { count_progress_cb, &reports, g_main_context_default (), 0 };
  TsrQemuImgProgress report = { &progress, "Converting", 0, 4 * MIB, 4 * MIB };
  gsize len = 0;

  if (!have_qemu_img ())
    return;
  dir = make_temp_dir ();
  src = g_build_filename (dir, "src.raw", NULL);
  mid = g_build_filename (dir, "mid.qcow2", NULL);
  back = g_build_filename (dir, "back.raw", NULL);
  for (gsize i = 0; i < MIB; i++)
    pattern[i] = (guint8) (i * 7 + 1);
  g_file_set_contents (src, (const char *) pattern, 4 * MIB, &error);
  g_assert_no_error (error);

  g_assert_true (tsr_qemu_img_create (mid, "qcow2", 4 * MIB, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tsr_qemu_img_convert (&(TsrQemuImgConvert) { src, "raw", mid, "qcow2" },
                                       &report, NULL, &error));
  g_assert_no_error (error);

  info = tsr_qemu_img_info (mid, "qcow2", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->format, ==, "qcow2");
  g_assert_cmpuint (info->virtual_size, ==, 4 * MIB);
  extents = tsr_qemu_img_map (mid, "qcow2", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (extents->len, >=, 1);
  assert_extent (extents, 0, 0, MIB, TRUE, FALSE, TRUE, g_array_index (extents, TsrImageExtent, 0).offset);

  g_assert_true (tsr_qemu_img_create (back, "raw", 4 * MIB, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tsr_qemu_img_convert (&(TsrQemuImgConvert) { mid, "qcow2", back, "raw",
                                                             TSR_QEMU_IMG_CONVERT_TARGET_IS_ZERO },
                                       NULL, NULL, &error));
  g_assert_no_error (error);
  g_file_get_contents (back, &result, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (result, len, pattern, 4 * MIB);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_test_message ("%u progress reports", reports);

  /* qemu-img's own complaint comes back */
  g_assert_false (tsr_qemu_img_convert (&(TsrQemuImgConvert) { "/nonexistent/disk.raw", "raw",
                                                              back, "raw" },
                                        NULL, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_FAILED);
  g_assert_nonnull (g_strrstr (error->message, "/nonexistent/disk.raw"));
  g_clear_error (&error);
  g_assert_null (tsr_qemu_img_info ("/nonexistent/disk.raw", "raw", NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_FAILED);

  remove_temp_dir (dir);
}

typedef struct
{
  GCancellable *cancellable;
  GPid          child;
  gint64        cancelled_at;
} CancelData;

/* The qemu-img this process started, from /proc. */
static GPid
find_child (void)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc", name, "stat", NULL);
      g_autofree char *stat = NULL;
      const char *close;
      int ppid = 0;

      if (!g_ascii_isdigit (name[0]) || !g_file_get_contents (path, &stat, NULL, NULL))
        continue;
      /* "pid (comm) state ppid …" */
      close = strrchr (stat, ')');
      if (close == NULL || sscanf (close + 1, " %*c %d", &ppid) != 1)
        continue;
      if (ppid == getpid () && g_str_has_prefix (stat + strcspn (stat, "("), "(qemu-img)"))
        return atoi (name);
    }
  return 0;
}

/* Progress is delivered on the main context, which this thread owns: the
 * report comes straight back here while qemu-img runs.
 */
static void
cancel_on_progress_cb (guint64     done,
                       guint64     total,
                       const char *stage,
                       gpointer    user_data)
{
  CancelData *data = user_data;

  if (done > 0 && data->child == 0)
    {
      data->child = find_child ();
      data->cancelled_at = g_get_monotonic_time ();
      g_cancellable_cancel (data->cancellable);
    }
}

static char *
slow_source (guint64 size)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "driver");
  json_builder_add_string_value (builder, "null-co");
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, (gint64) size);
  json_builder_set_member_name (builder, "latency-ns");
  json_builder_add_int_value (builder, 500 * 1000 * 1000);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, FALSE);
  return g_strconcat ("json:", text, NULL);
}

/* A source that takes 0.5 s a read (qemu's null-co driver), so the
 * conversion would run for about 15 s: cancelled at its first progress,
 * qemu-img must be gone when convert returns.
 */
static void
test_convert_cancel (void)
{
  const guint64 size = 512 * MIB;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *dst = NULL;
  g_autofree char *src = slow_source (size);
  CancelData data = { cancellable, 0, 0 };
  TsrProgress progress = { cancel_on_progress_cb, &data, g_main_context_default (), 0 };
  TsrQemuImgProgress report = { &progress, "Converting", 0, size, size };
  gint64 started = g_get_monotonic_time ();

  if (!have_qemu_img ())
    return;
  dir = make_temp_dir ();
  dst = g_build_filename (dir, "dst.raw", NULL);
  g_assert_true (tsr_qemu_img_create (dst, "raw", size, NULL, &error));
  g_assert_no_error (error);

  g_assert_false (tsr_qemu_img_convert (&(TsrQemuImgConvert) { src, "null-co", dst, "raw" },
                                        &report, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (data.child, >, 0);
  /* killed and reaped, not left to finish */
  g_assert_cmpint (kill (data.child, 0), ==, -1);
  g_assert_cmpint (errno, ==, ESRCH);
  g_assert_cmpint (g_get_monotonic_time () - data.cancelled_at, <, 3 * G_USEC_PER_SEC);
  g_test_message ("cancelled after %.2f s", (data.cancelled_at - started) / 1e6);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  remove_temp_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/qemu-img/info/qcow2", test_info_qcow2);
  g_test_add_func ("/qemu-img/info/raw", test_info_raw);
  g_test_add_func ("/qemu-img/info/vmdk-in-tar", test_info_vmdk_in_tar);
  g_test_add_func ("/qemu-img/info/backing", test_info_backing);
  g_test_add_func ("/qemu-img/info/top-level-only", test_info_top_level_only);
  g_test_add_func ("/qemu-img/info/malformed", test_info_malformed);
  g_test_add_func ("/qemu-img/map/samples", test_map);
  g_test_add_func ("/qemu-img/map/malformed", test_map_malformed);
  g_test_add_func ("/qemu-img/measure", test_measure);
  g_test_add_func ("/qemu-img/convert/progress-parse", test_progress_parse);
  g_test_add_func ("/qemu-img/region-filename", test_region_filename);
  g_test_add_func ("/qemu-img/convert/real", test_convert);
  g_test_add_func ("/qemu-img/convert/cancel", test_convert_cancel);

  return g_test_run ();
}
