/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "tsr-error.h"
#include "tsr-journal.h"
#include "tsr-libvirt-private.h"
#include "tsr-media-vm.h"
#include "tsr-storage.h"
#include "tsr-xml-private.h"

/* See tsr-media-vm.h. The design and its threat analysis are in the
 * README ("Install media inside another VM").
 */

#define AGENT_TIMEOUT_S   10
/* Bytes per guest-file-read: the answer is base64 in one JSON string,
 * and libvirt carries at most 4 MiB of it (REMOTE_STRING_MAX).
 */
#define CHUNK             (2 * 1024 * 1024)

typedef struct
{
  virDomainPtr  dom;
  const char   *owner;
  const char   *path;
  gint64        handle;
} Agent;

/* Runs EXECUTE with ARGS (a JSON object, or NULL) through the agent and
 * returns its "return" member. libvirt reports the agent's own error
 * ("failed to open file …: No such file or directory") as its message.
 */
static JsonNode *
agent_call (Agent       *agent,
            const char  *execute,
            JsonNode    *args,
            GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) request = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *text = NULL;
  g_autofree char *reply = NULL;
  JsonObject *object;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "execute");
  json_builder_add_string_value (builder, execute);
  if (args != NULL)
    {
      json_builder_set_member_name (builder, "arguments");
      json_builder_add_value (builder, json_node_copy (args));
    }
  json_builder_end_object (builder);
  request = json_builder_get_root (builder);
  text = json_to_string (request, FALSE);

  reply = virDomainQemuAgentCommand (agent->dom, text, AGENT_TIMEOUT_S, 0);
  if (reply == NULL)
    {
      tsr_error_set_from_libvirt (error, execute);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, reply, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)) ||
      !json_object_has_member ((object = json_node_get_object (json_parser_get_root (parser))),
                               "return"))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                   _("The guest agent of “%s” gave an answer Tessera cannot read."),
                   agent->owner);
      return NULL;
    }
  return json_node_copy (json_object_get_member (object, "return"));
}

/* An argument object: pairs of member name and value, strings or
 * integers as the name says ("path", "mode" strings; the rest integers).
 */
static JsonNode *
file_args (gint64      handle,
           const char *name,
           gint64      value,
           const char *name2,
           gint64      value2)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "handle");
  json_builder_add_int_value (builder, handle);
  if (name != NULL)
    {
      json_builder_set_member_name (builder, name);
      json_builder_add_int_value (builder, value);
    }
  if (name2 != NULL)
    {
      json_builder_set_member_name (builder, name2);
      json_builder_add_int_value (builder, value2);
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
agent_close (Agent *agent)
{
  g_autoptr(JsonNode) args = NULL;
  g_autoptr(JsonNode) ret = NULL;

  if (agent->handle < 0)
    return;
  args = file_args (agent->handle, NULL, 0, NULL, 0);
  ret = agent_call (agent, "guest-file-close", args, NULL);
  agent->handle = -1;
  virResetLastError ();
}

/* The source: exists, runs, its agent answers. */
static virDomainPtr
source_domain (virConnectPtr   conn,
               TsrMedia       *media,
               GError        **error)
{
  virDomainPtr dom = virDomainLookupByName (conn, media->owner);
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) pong = NULL;
  Agent agent = { dom, media->owner, media->path, -1 };

  virResetLastError ();
  if (dom == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("No VM named “%s” for install media “%s”."), media->owner, media->spec);
      return NULL;
    }
  if (virDomainIsActive (dom) != 1)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING,
                   _("“%s” is not running: start it first (qvm-start %s), then try again. "
                     "Install media “%s” are read from inside it."),
                   media->owner, media->owner, media->spec);
      virDomainFree (dom);
      return NULL;
    }
  if (!(pong = agent_call (&agent, "guest-ping", NULL, &local)))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("The QEMU guest agent of “%s” does not answer (%s). Install the "
                     "qemu-guest-agent package inside it (Windows: the virtio-win guest "
                     "tools), make sure the VM has a channel named org.qemu.guest_agent.0, "
                     "then try again."), media->owner, local->message);
      virDomainFree (dom);
      return NULL;
    }
  return dom;
}

/* Opens the file and returns its size; refuses folders, missing and
 * empty files with what they are.
 */
static gboolean
open_source (Agent    *agent,
             guint64  *size,
             GError  **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) args = NULL;
  g_autoptr(JsonNode) handle = NULL;
  g_autoptr(JsonNode) seek = NULL;
  g_autoptr(JsonNode) probe = NULL;
  g_autoptr(GError) local = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, agent->path);
  json_builder_set_member_name (builder, "mode");
  json_builder_add_string_value (builder, "r");
  json_builder_end_object (builder);
  args = json_builder_get_root (builder);

  if (!(handle = agent_call (agent, "guest-file-open", args, &local)) ||
      !JSON_NODE_HOLDS_VALUE (handle))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("“%s” could not be opened inside “%s”: %s. Check the path (it is a path "
                     "inside that VM, e.g. %s:/home/user/installer.iso)."),
                   agent->path, agent->owner, local ? local->message : "?", agent->owner);
      return FALSE;
    }
  agent->handle = json_node_get_int (handle);

  /* A folder opens, but cannot be read. */
  g_clear_pointer (&args, json_node_unref);
  args = file_args (agent->handle, "count", 1, NULL, 0);
  if (!(probe = agent_call (agent, "guest-file-read", args, &local)))
    {
      gboolean folder = strstr (local->message, "Is a directory") != NULL;

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   folder ? _("“%s” inside “%s” is a folder, not an install image: give the "
                              "path of the ISO file in it.")
                          : _("“%s” inside “%s” cannot be read: %s"),
                   agent->path, agent->owner, local->message);
      return FALSE;
    }

  g_clear_pointer (&args, json_node_unref);
  args = file_args (agent->handle, "offset", 0, NULL, 0);
  json_object_set_int_member (json_node_get_object (args), "whence", 2);
  if (!(seek = agent_call (agent, "guest-file-seek", args, &local)) ||
      !JSON_NODE_HOLDS_OBJECT (seek))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _("The size of “%s” inside “%s” is "
                   "unknown: %s"), agent->path, agent->owner, local ? local->message : "?");
      return FALSE;
    }
  *size = json_object_get_int_member (json_node_get_object (seek), "position");
  if (*size == 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” inside “%s” is empty, not an install image."), agent->path,
                   agent->owner);
      return FALSE;
    }

  g_clear_pointer (&args, json_node_unref);
  g_clear_pointer (&seek, json_node_unref);
  args = file_args (agent->handle, "offset", 0, "whence", 0);
  seek = agent_call (agent, "guest-file-seek", args, error);
  return seek != NULL;
}

/* Reads the file to its end through the agent into STREAM. */
static gboolean
copy_to_stream (Agent         *agent,
                virStreamPtr   stream,
                guint64        size,
                TsrProgress   *progress,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autofree char *stage = g_strdup_printf (_("Copying “%s” from “%s”"), agent->path,
                                            agent->owner);
  guint64 done = 0;

  tsr_progress_report (progress, 0, size, stage, TRUE);

  while (done < size)
    {
      g_autoptr(JsonNode) args = file_args (agent->handle, "count", CHUNK, NULL, 0);
      g_autoptr(JsonNode) chunk = NULL;
      JsonObject *object;
      const char *data;
      gsize len = 0;
      guchar *bytes;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!(chunk = agent_call (agent, "guest-file-read", args, error)))
        return FALSE;
      object = json_node_get_object (chunk);
      data = json_object_get_string_member_with_default (object, "buf-b64", "");
      bytes = g_base64_decode (data, &len);
      for (gsize off = 0; off < len;)
        {
          int sent = virStreamSend (stream, (const char *) bytes + off, len - off);

          if (sent < 0)
            {
              g_free (bytes);
              tsr_error_set_from_libvirt (error, _("Sending the install media to libvirt failed"));
              return FALSE;
            }
          off += sent;
        }
      g_free (bytes);
      done += len;
      tsr_progress_report (progress, done, size, stage, FALSE);
      if (len == 0 || json_object_get_boolean_member_with_default (object, "eof", FALSE))
        break;
    }
  if (done != size)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                   _("“%s” inside “%s” changed while it was copied (%" G_GUINT64_FORMAT
                     " of %" G_GUINT64_FORMAT " bytes): try again."),
                   agent->path, agent->owner, done, size);
      return FALSE;
    }
  return TRUE;
}

static virStorageVolPtr
make_volume (virConnectPtr  conn,
             const char    *name,
             guint64        size,
             GError       **error)
{
  g_autoptr(virStoragePool) pool = virStoragePoolLookupByName (conn, TSR_DEFAULT_POOL);
  g_autofree char *xml = NULL;
  virStorageVolPtr vol;

  if (pool == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Tessera’s storage pool “" TSR_DEFAULT_POOL "” is "
                                           "missing: start Tessera once as an administrator, or "
                                           "create the pool"));
      return NULL;
    }
  xml = g_strdup_printf ("<volume><name>%s</name><capacity>%" G_GUINT64_FORMAT "</capacity>"
                         "<allocation>0</allocation><target><format type='raw'/>"
                         "<permissions><mode>0644</mode></permissions></target></volume>",
                         name, size);
  vol = virStorageVolCreateXML (pool, xml, 0);
  if (vol == NULL)
    tsr_error_set_from_libvirt (error, _("Could not make a volume for the install media"));
  return vol;
}

void
tsr_media_vm_drop (virConnectPtr  conn,
                   const char    *name)
{
  g_autoptr(virStoragePool) pool = virStoragePoolLookupByName (conn, TSR_DEFAULT_POOL);
  g_autoptr(virStorageVol) vol = pool ? virStorageVolLookupByName (pool, name) : NULL;

  if (vol != NULL)
    virStorageVolDelete (vol, 0);
  virResetLastError ();
}

char *
tsr_media_vm_fetch (virConnectPtr   conn,
                    TsrMedia       *media,
                    const char     *target,
                    TsrJournal     *journal,
                    TsrProgress    *progress,
                    GCancellable   *cancellable,
                    GError        **error)
{
  g_autoptr(virStream) stream = NULL;
  g_autofree char *name = NULL;
  virStorageVolPtr vol = NULL;
  Agent agent = { NULL, media->owner, media->path, -1 };
  guint64 size = 0;
  gboolean ok;

  if (!(agent.dom = source_domain (conn, media, error)))
    return NULL;
  if (!open_source (&agent, &size, error))
    goto fail;

  name = g_strdup_printf (TSR_MEDIA_COPY_PREFIX "%s-%08x.iso", target, g_random_int ());
  tsr_journal_volume (journal, TSR_DEFAULT_POOL, name, NULL);
  tsr_journal_step ("media:journaled");
  if (!(vol = make_volume (conn, name, size, error)))
    goto fail;

  stream = virStreamNew (conn, 0);
  if (stream == NULL || virStorageVolUpload (vol, stream, 0, size, 0) < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not start sending the install media"));
      goto fail;
    }
  tsr_journal_step ("media:copying");
  ok = copy_to_stream (&agent, stream, size, progress, cancellable, error);
  if (!ok || virStreamFinish (stream) < 0)
    {
      if (ok)
        tsr_error_set_from_libvirt (error, _("Sending the install media to libvirt failed"));
      virStreamAbort (stream);
      goto fail;
    }

  agent_close (&agent);
  virDomainFree (agent.dom);
  g_free (media->path);
  media->path = virStorageVolGetPath (vol);
  virStorageVolFree (vol);
  return g_steal_pointer (&name);

fail:
  agent_close (&agent);
  virDomainFree (agent.dom);
  if (vol != NULL)
    {
      virStorageVolDelete (vol, 0);
      virStorageVolFree (vol);
    }
  virResetLastError ();
  return NULL;
}

/* Sweep */

static void
add_live_volumes (GHashTable *keep,
                  GPtrArray  *live)
{
  for (guint i = 0; live != NULL && i < live->len; i++)
    {
      TsrJournalRecord *record = g_ptr_array_index (live, i);

      for (guint j = 0; j < record->volumes->len; j++)
        g_hash_table_add (keep, g_strdup (((TsrJournalVolume *)
                                            g_ptr_array_index (record->volumes, j))->name));
    }
}

static gboolean
keep_records (TsrJournalRecord *record,
              gpointer          user_data)
{
  return FALSE;
}

/* The paths every running domain's disks use right now. */
static GHashTable *
running_paths (virConnectPtr conn)
{
  GHashTable *paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

  for (int i = 0; i < n; i++)
    {
      g_autofree char *xml = virDomainGetXMLDesc (doms[i], 0);
      const char *at = xml;

      while (at != NULL && (at = strstr (at, "<source file='")) != NULL)
        {
          const char *start = at + strlen ("<source file='");
          const char *end = strchr (start, '\'');

          if (end == NULL)
            break;
          g_hash_table_add (paths, g_strndup (start, end - start));
          at = end;
        }
      virDomainFree (doms[i]);
    }
  free (doms);
  virResetLastError ();
  return paths;
}

guint
tsr_media_vm_sweep_sync (virConnectPtr  conn,
                         GPtrArray     *live,
                         GPtrArray     *report)
{
  g_autoptr(virStoragePool) pool = virStoragePoolLookupByName (conn, TSR_DEFAULT_POOL);
  g_autoptr(GHashTable) keep = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) used = NULL;
  g_autoptr(GPtrArray) read_live = NULL;
  virStorageVolPtr *vols = NULL;
  guint dropped = 0;
  int n;

  if (pool == NULL)
    {
      virResetLastError ();
      return 0;
    }
  n = virStoragePoolListAllVolumes (pool, &vols, 0);
  for (int i = 0; i < n; i++)
    {
      const char *name = virStorageVolGetName (vols[i]);
      g_autofree char *path = NULL;

      if (name == NULL || !g_str_has_prefix (name, TSR_MEDIA_COPY_PREFIX))
        continue;
      /* Read what is running only when there is a copy at all. */
      if (used == NULL)
        {
          if (live == NULL)
            {
              g_auto(GStrv) dirs = tsr_journal_dirs_to_scan ();

              read_live = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_journal_record_free);
              tsr_journal_scan ((const char * const *) dirs, read_live, keep_records, NULL);
              live = read_live;
            }
          add_live_volumes (keep, live);
          used = running_paths (conn);
        }
      path = virStorageVolGetPath (vols[i]);
      if (g_hash_table_contains (keep, name) || (path && g_hash_table_contains (used, path)))
        continue;
      if (virStorageVolDelete (vols[i], 0) == 0)
        {
          dropped++;
          if (report != NULL)
            g_ptr_array_add (report, g_strdup_printf (_("Deleted “%s”, the copy of install media "
                                                        "of a VM that has stopped"), name));
        }
    }
  for (int i = 0; i < n; i++)
    virStorageVolFree (vols[i]);
  free (vols);
  virResetLastError ();
  return dropped;
}
