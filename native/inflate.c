// A gzip decompressor that writes into a buffer the caller owns and reuses.
// Node's zlib streams allocate a new buffer for every output chunk, and an
// unpack worker turns a layer's whole size over in them before its isolate
// collects them; decompressing into one reused buffer keeps a pull's memory flat.
// zlib itself is the copy Node.js carries (its symbols are the binary's own).

#include "common.h"

#include <zlib.h>

typedef struct {
  z_stream zs;
  bool open;
} inflater;

static void inflater_end(inflater *in) {
  if (in->open) inflateEnd(&in->zs);
  in->open = false;
}

static void finalize_inflater(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  inflater_end(data);
  free(data);
}

static inflater *get_inflater(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "expected an inflater");
    return NULL;
  }
  inflater *in = data;
  if (!in->open) {
    napi_throw_error(env, NULL, "the inflater is closed");
    return NULL;
  }
  return in;
}

// inflaterCreate(): an inflater for one gzip stream (members may follow one another).
napi_value inflater_create(napi_env env, napi_callback_info info) {
  (void)info;
  inflater *in = calloc(1, sizeof *in);
  if (!in) return throw_errno(env, "inflaterCreate", ENOMEM);
  // 15 + 16: the largest window, gzip header and trailer (CRC-32, size) checked.
  if (inflateInit2(&in->zs, 15 + 16) != Z_OK) {
    free(in);
    napi_throw_error(env, NULL, "cannot set up zlib's inflate");
    return NULL;
  }
  in->open = true;
  napi_value out;
  if (napi_create_external(env, in, finalize_inflater, NULL, &out) != napi_ok) {
    inflater_end(in);
    free(in);
    return NULL;
  }
  return out;
}

// inflaterRun(inflater, input, inputOffset, output): [consumed, produced, streamEnd]
// One inflate() call from input[inputOffset..] into output[0..]; throws on corrupt data.
napi_value inflater_run(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "inflaterRun(inflater, input, inputOffset, output)");
    return NULL;
  }
  inflater *in = get_inflater(env, argv[0]);
  if (!in) return NULL;
  void *input, *output;
  size_t input_len, output_len;
  uint32_t offset;
  if (napi_get_buffer_info(env, argv[1], &input, &input_len) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &offset) != napi_ok ||
      napi_get_buffer_info(env, argv[3], &output, &output_len) != napi_ok || offset > input_len) {
    napi_throw_type_error(env, NULL, "inflaterRun: input and output must be buffers, inputOffset within input");
    return NULL;
  }
  in->zs.next_in = (Bytef *)input + offset;
  in->zs.avail_in = (uInt)(input_len - offset);
  in->zs.next_out = output;
  in->zs.avail_out = (uInt)output_len;
  int rc = inflate(&in->zs, Z_NO_FLUSH);
  // Z_BUF_ERROR only says no progress was possible (no input, or no room): not an error.
  if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
    char message[256];
    snprintf(message, sizeof message, "gzip data is corrupt: %s", in->zs.msg ? in->zs.msg : zError(rc));
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  size_t consumed = (input_len - offset) - in->zs.avail_in;
  size_t produced = output_len - in->zs.avail_out;
  in->zs.next_in = NULL;
  in->zs.next_out = NULL;

  napi_value result, v;
  napi_create_array_with_length(env, 3, &result);
  napi_create_uint32(env, (uint32_t)consumed, &v);
  napi_set_element(env, result, 0, v);
  napi_create_uint32(env, (uint32_t)produced, &v);
  napi_set_element(env, result, 1, v);
  napi_get_boolean(env, rc == Z_STREAM_END, &v);
  napi_set_element(env, result, 2, v);
  return result;
}

// inflaterReset(inflater): ready for the next gzip member.
napi_value inflater_reset(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  inflater *in = argc ? get_inflater(env, argv[0]) : NULL;
  if (!in) return NULL;
  inflateReset(&in->zs);
  return NULL;
}

// inflaterClose(inflater): frees zlib's state now rather than at collection.
napi_value inflater_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data = NULL;
  if (argc && napi_get_value_external(env, argv[0], &data) == napi_ok && data) inflater_end(data);
  return NULL;
}
