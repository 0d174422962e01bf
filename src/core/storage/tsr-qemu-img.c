/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "tsr-error.h"
#include "tsr-qemu-img.h"

/* The one place that runs qemu-img. Its JSON is read with json-glib and
 * only the top-level members count: since QEMU 8.0 "info" also describes
 * the nodes below the image ("children"), each with its own "format",
 * "filename" and "virtual-size", which say nothing about the image itself.
 *
 * Errors: TSR_ERROR_NOT_SUPPORTED when qemu-img cannot be run,
 * TSR_ERROR_FAILED with qemu-img's own message when it refuses, and
 * TSR_ERROR_INVALID_VALUE when its output cannot be read.
 */

void
tsr_image_info_free (TsrImageInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->format);
  g_free (info->filename);
  g_free (info->backing_filename);
  g_free (info->data_file);
  g_strfreev (info->extents);
  g_free (info);
}

/* Parsing */

static JsonNode *
parse_json (const char  *json,
            JsonNodeType type,
            GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (json == NULL || !json_parser_load_from_data (parser, json, -1, &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("qemu-img gave an answer Tessera cannot read: %s"),
                   local_error ? local_error->message : _("no output"));
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || JSON_NODE_TYPE (root) != type)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("qemu-img gave an answer Tessera cannot read: it is not the "
                             "expected kind of JSON value."));
      return NULL;
    }
  return json_node_ref (root);
}

static gboolean
member_u64 (JsonObject *object,
            const char *name,
            guint64    *out)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64 || json_node_get_int (node) < 0)
    return FALSE;
  *out = (guint64) json_node_get_int (node);
  return TRUE;
}

static gboolean
member_bool (JsonObject *object,
             const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_BOOLEAN && json_node_get_boolean (node);
}

static char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (node));
}

static JsonObject *
member_object (JsonObject *object,
               const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* "format-specific": {"type": …, "data": {…}} of the image itself. */
static void
take_format_specific (TsrImageInfo *info,
                      JsonObject   *root)
{
  JsonObject *data = member_object (member_object (root, "format-specific"), "data");
  JsonNode *extents;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  info->data_file = member_string (data, "data-file");
  info->has_parent_cid = member_u64 (data, "parent-cid", &info->parent_cid);

  extents = data ? json_object_get_member (data, "extents") : NULL;
  if (extents != NULL && JSON_NODE_HOLDS_ARRAY (extents))
    {
      JsonArray *array = json_node_get_array (extents);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *extent = json_array_get_element (array, i);
          char *name = JSON_NODE_HOLDS_OBJECT (extent)
                       ? member_string (json_node_get_object (extent), "filename") : NULL;

          if (name != NULL)
            g_ptr_array_add (names, name);
        }
    }
  g_ptr_array_add (names, NULL);
  info->extents = (GStrv) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

/* JSON is the output of `qemu-img info --output=json` for one image. */
gboolean
tsr_qemu_img_parse_info (const char    *json,
                         TsrImageInfo **out,
                         GError       **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(TsrImageInfo) info = NULL;
  JsonObject *object;

  g_return_val_if_fail (out != NULL, FALSE);

  if (!(root = parse_json (json, JSON_NODE_OBJECT, error)))
    return FALSE;
  object = json_node_get_object (root);

  info = g_new0 (TsrImageInfo, 1);
  info->format = member_string (object, "format");
  if (info->format == NULL || !member_u64 (object, "virtual-size", &info->virtual_size))
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("qemu-img gave no format or size for the image."));
      return FALSE;
    }
  info->filename = member_string (object, "filename");
  member_u64 (object, "actual-size", &info->actual_size);
  info->backing_filename = member_string (object, "backing-filename");
  take_format_specific (info, object);

  *out = g_steal_pointer (&info);
  return TRUE;
}

/* JSON is the output of `qemu-img map --output=json`; OUT gets an array
 * of TsrImageExtent.
 */
gboolean
tsr_qemu_img_parse_map (const char  *json,
                        GArray     **out,
                        GError     **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GArray) extents = g_array_new (FALSE, TRUE, sizeof (TsrImageExtent));
  JsonArray *array;

  g_return_val_if_fail (out != NULL, FALSE);

  if (!(root = parse_json (json, JSON_NODE_ARRAY, error)))
    return FALSE;
  array = json_node_get_array (root);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      TsrImageExtent extent = { 0 };
      guint64 depth = 0;

      if (object == NULL || !member_u64 (object, "start", &extent.start) ||
          !member_u64 (object, "length", &extent.length))
        {
          g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                               _("qemu-img gave a map entry without a start or length."));
          return FALSE;
        }
      member_u64 (object, "depth", &depth);
      extent.depth = (guint) MIN (depth, G_MAXUINT);
      extent.present = member_bool (object, "present");
      extent.zero = member_bool (object, "zero");
      extent.data = member_bool (object, "data");
      extent.has_offset = member_u64 (object, "offset", &extent.offset);
      g_array_append_val (extents, extent);
    }

  *out = g_steal_pointer (&extents);
  return TRUE;
}

/* JSON is the output of `qemu-img measure --output=json`. */
gboolean
tsr_qemu_img_parse_measure (const char  *json,
                            guint64     *required,
                            GError     **error)
{
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (required != NULL, FALSE);

  if (!(root = parse_json (json, JSON_NODE_OBJECT, error)))
    return FALSE;
  if (!member_u64 (json_node_get_object (root), "required", required))
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("qemu-img gave no required size for the image."));
      return FALSE;
    }
  return TRUE;
}

/* "(12.50/100%)", as `qemu-img convert -p` writes it, or -1. */
static double
progress_mark (const char *record)
{
  g_autofree char *text = g_strstrip (g_strdup (record));
  char *end = NULL;
  double percent;

  if (text[0] != '(')
    return -1;
  percent = g_ascii_strtod (text + 1, &end);
  if (end == text + 1 || !g_str_equal (end, "/100%)") || percent < 0 || percent > 100)
    return -1;
  return percent;
}

/* BUFFER holds what `qemu-img convert -p` wrote so far (stdout and stderr
 * together). Its complete records — progress marks end in '\r', messages
 * in '\n' — are taken out: the last percentage is returned (-1 if none),
 * other text is added to MESSAGES, an unfinished record stays.
 */
double
tsr_qemu_img_take_progress (GString *buffer,
                            GString *messages)
{
  double last = -1;
  gsize start = 0;

  g_return_val_if_fail (buffer != NULL, -1);

  for (gsize i = 0; i < buffer->len; i++)
    {
      g_autofree char *record = NULL;
      double percent;

      if (buffer->str[i] != '\r' && buffer->str[i] != '\n')
        continue;
      record = g_strndup (buffer->str + start, i - start);
      start = i + 1;
      percent = progress_mark (record);
      if (percent >= 0)
        last = percent;
      else if (messages != NULL && *g_strstrip (record) != '\0')
        {
          if (messages->len > 0)
            g_string_append_c (messages, '\n');
          g_string_append (messages, record);
        }
    }
  g_string_erase (buffer, 0, start);
  return last;
}

/* Running it */

static GSubprocess *
spawn (const char * const  *argv,
       GSubprocessFlags     flags,
       GError             **error)
{
  g_autoptr(GError) local_error = NULL;
  GSubprocess *proc = g_subprocess_newv (argv, flags, &local_error);

  if (proc == NULL)
    g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                 _("Could not run qemu-img (%s): install it (Debian: qemu-utils)."),
                 local_error->message);
  return proc;
}

/* ARGV's standard output; qemu-img's complaint as a TSR_ERROR_FAILED. */
static char *
run (const char * const  *argv,
     GCancellable        *cancellable,
     GError             **error)
{
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  proc = spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, error);
  if (proc == NULL)
    return NULL;
  if (!g_subprocess_communicate_utf8 (proc, NULL, cancellable, &out, &err, error))
    {
      g_subprocess_force_exit (proc);
      g_subprocess_wait (proc, NULL, NULL);
      return NULL;
    }
  if (!g_subprocess_get_successful (proc))
    {
      if (err != NULL)
        g_strstrip (err);
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_FAILED,
                           err && *err ? err : _("qemu-img failed without saying why."));
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* FORMAT may be NULL to let qemu-img probe, which only images Tessera made
 * itself should be left to.
 */
static GPtrArray *
query_argv (const char *command,
            const char *filename,
            const char *format)
{
  GPtrArray *argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (char *) "qemu-img");
  g_ptr_array_add (argv, (char *) command);
  g_ptr_array_add (argv, (char *) "--output=json");
  if (format != NULL)
    {
      g_ptr_array_add (argv, (char *) "-f");
      g_ptr_array_add (argv, (char *) format);
    }
  g_ptr_array_add (argv, (char *) filename);
  return argv;
}

/* What `qemu-img COMMAND --output=json [-f FORMAT] FILENAME` prints. */
static char *
query (const char    *command,
       const char    *filename,
       const char    *format,
       GCancellable  *cancellable,
       GError       **error)
{
  g_autoptr(GPtrArray) argv = query_argv (command, filename, format);

  g_ptr_array_add (argv, NULL);
  return run ((const char * const *) argv->pdata, cancellable, error);
}

TsrImageInfo *
tsr_qemu_img_info (const char    *filename,
                   const char    *format,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autofree char *out = NULL;
  TsrImageInfo *info = NULL;

  g_return_val_if_fail (filename != NULL, NULL);

  out = query ("info", filename, format, cancellable, error);
  if (out == NULL || !tsr_qemu_img_parse_info (out, &info, error))
    return NULL;
  return info;
}

GArray *
tsr_qemu_img_map (const char    *filename,
                  const char    *format,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autofree char *out = NULL;
  GArray *extents = NULL;

  g_return_val_if_fail (filename != NULL, NULL);

  out = query ("map", filename, format, cancellable, error);
  if (out == NULL || !tsr_qemu_img_parse_map (out, &extents, error))
    return NULL;
  return extents;
}

/* The bytes a copy of FILENAME as OUT_FORMAT needs. */
gboolean
tsr_qemu_img_measure (const char    *filename,
                      const char    *format,
                      const char    *out_format,
                      guint64       *required,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GPtrArray) argv = query_argv ("measure", filename, format);
  g_autofree char *out = NULL;

  g_return_val_if_fail (filename != NULL && out_format != NULL, FALSE);

  /* the file name goes last */
  g_ptr_array_insert (argv, argv->len - 1, (char *) "-O");
  g_ptr_array_insert (argv, argv->len - 1, (char *) out_format);
  g_ptr_array_add (argv, NULL);
  if (!(out = run ((const char * const *) argv->pdata, cancellable, error)))
    return FALSE;
  return tsr_qemu_img_parse_measure (out, required, error);
}

gboolean
tsr_qemu_img_create (const char    *filename,
                     const char    *format,
                     guint64        size,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autofree char *size_text = g_strdup_printf ("%" G_GUINT64_FORMAT, size);
  const char *argv[] = { "qemu-img", "create", "-q", "-f", format, filename, size_text, NULL };
  g_autofree char *out = NULL;

  g_return_val_if_fail (filename != NULL && format != NULL, FALSE);

  out = run (argv, cancellable, error);
  return out != NULL;
}

static void
report_progress (const TsrQemuImgProgress *progress,
                 double                    percent)
{
  guint64 done;

  if (progress == NULL || progress->progress == NULL)
    return;
  done = progress->done_before + (guint64) (percent / 100.0 * progress->span);
  if (progress->total > 0)
    done = MIN (done, progress->total);
  tsr_progress_report (progress->progress, done, progress->total, progress->stage, FALSE);
}

/* What qemu-img said when the conversion failed; running out of space is
 * G_IO_ERROR_NO_SPACE, so callers can name the pool.
 */
static void
set_convert_error (GError       **error,
                   GString       *messages,
                   const GError  *wait_error)
{
  g_autofree char *text = g_strstrip (g_strdup (messages->str));

  if (strstr (text, "No space left") != NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, text);
  else
    g_set_error_literal (error, TSR_ERROR, TSR_ERROR_FAILED, *text ? text : wait_error->message);
}

/* `qemu-img convert -n` into DST, which exists; both formats are given, so
 * the source is never probed. Cancelling kills qemu-img and returns
 * G_IO_ERROR_CANCELLED once it is gone.
 */
gboolean
tsr_qemu_img_convert (const TsrQemuImgConvert   *convert,
                      const TsrQemuImgProgress  *progress,
                      GCancellable              *cancellable,
                      GError                   **error)
{
  const char *src = convert->src;
  const char *src_format = convert->src_format;
  const char *dst = convert->dst;
  const char *dst_format = convert->dst_format;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GString) buffer = g_string_new (NULL);
  g_autoptr(GString) messages = g_string_new (NULL);
  g_autoptr(GError) local_error = NULL;
  GInputStream *out;
  char buf[256];
  gssize n;

  g_return_val_if_fail (src != NULL && src_format != NULL, FALSE);
  g_return_val_if_fail (dst != NULL && dst_format != NULL, FALSE);

  g_ptr_array_add (argv, (char *) "qemu-img");
  g_ptr_array_add (argv, (char *) "convert");
  g_ptr_array_add (argv, (char *) "-p");
  g_ptr_array_add (argv, (char *) "-n");
  if (convert->flags & TSR_QEMU_IMG_CONVERT_TARGET_IS_ZERO)
    g_ptr_array_add (argv, (char *) "--target-is-zero");
  g_ptr_array_add (argv, (char *) "-f");
  g_ptr_array_add (argv, (char *) src_format);
  g_ptr_array_add (argv, (char *) "-O");
  g_ptr_array_add (argv, (char *) dst_format);
  g_ptr_array_add (argv, (char *) src);
  g_ptr_array_add (argv, (char *) dst);
  g_ptr_array_add (argv, NULL);

  proc = spawn ((const char * const *) argv->pdata,
                G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, error);
  if (proc == NULL)
    return FALSE;

  out = g_subprocess_get_stdout_pipe (proc);
  while ((n = g_input_stream_read (out, buf, sizeof buf, cancellable, &local_error)) > 0)
    {
      double percent;

      g_string_append_len (buffer, buf, n);
      percent = tsr_qemu_img_take_progress (buffer, messages);
      if (percent >= 0)
        report_progress (progress, percent);
      /* a flood of text without line ends is not worth keeping whole */
      if (buffer->len > 4096)
        g_string_erase (buffer, 0, buffer->len - 64);
      if (messages->len > 4096)
        g_string_erase (messages, 0, messages->len - 1024);
    }
  g_string_append (messages, buffer->str);

  if (n == 0 && !g_subprocess_wait_check (proc, cancellable, &local_error) &&
      !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      set_convert_error (error, messages, local_error);
      return FALSE;
    }
  if (local_error != NULL)
    {
      g_subprocess_force_exit (proc);
      g_subprocess_wait (proc, NULL, NULL);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

/* The json: name that has qemu read an image of FORMAT from PATH — whole,
 * or SIZE bytes at OFFSET in it (a member of an archive) — and never open
 * a backing file.
 */
char *
tsr_qemu_img_region_filename (const char *format,
                              const char *path,
                              gboolean    whole,
                              guint64     offset,
                              guint64     size)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (format != NULL && path != NULL, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "driver");
  json_builder_add_string_value (builder, format);
  json_builder_set_member_name (builder, "backing");
  json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "file");
  json_builder_begin_object (builder);
  if (!whole)
    {
      json_builder_set_member_name (builder, "driver");
      json_builder_add_string_value (builder, "raw");
      json_builder_set_member_name (builder, "offset");
      json_builder_add_int_value (builder, (gint64) offset);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, (gint64) size);
      json_builder_set_member_name (builder, "file");
      json_builder_begin_object (builder);
    }
  json_builder_set_member_name (builder, "driver");
  json_builder_add_string_value (builder, "file");
  json_builder_set_member_name (builder, "filename");
  json_builder_add_string_value (builder, path);
  json_builder_end_object (builder);
  if (!whole)
    json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  return g_strconcat ("json:", text, NULL);
}
