// libcurl, loaded when first needed: the functions the agent calls, as `agent_curl_*` wrappers that
// call through pointers resolved with dlsym from libcurl.so.4. The binary does not link libcurl, so
// the commands that never make an HTTP request (`agent query`, `status`, `version`…) do not pay for
// binding its ~30 TLS/Kerberos/LDAP libraries at start. <curl/curl.h> gives the types and constants
// only: calling a `curl_*` function directly fails to link, by design.
#ifndef AGENT_CCURL_H
#define AGENT_CCURL_H
#include <curl/curl.h>

/// Loads libcurl once (thread-safe) and runs curl_global_init; NULL when ready, else why it cannot
/// be used, naming the library and the Debian package. Every wrapper below calls it first and fails
/// softly (NULL, CURLE_FAILED_INIT, CURLM_INTERNAL_ERROR) when the library is missing.
/// The environment variable AGENT_LIBCURL, when set, names the library to load instead of
/// libcurl.so.4 (a libcurl installed elsewhere; the tests point it at a missing file).
const char *agent_curl_load(void);

typedef size_t (*agent_curl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);

CURL *agent_curl_easy_init(void);
void agent_curl_easy_cleanup(CURL *handle);
void agent_curl_easy_reset(CURL *handle);
const char *agent_curl_easy_strerror(CURLcode code);
struct curl_slist *agent_curl_slist_append(struct curl_slist *list, const char *string);
void agent_curl_slist_free_all(struct curl_slist *list);

CURLM *agent_curl_multi_init(void);
CURLMcode agent_curl_multi_cleanup(CURLM *multi);
CURLMcode agent_curl_multi_add_handle(CURLM *multi, CURL *handle);
CURLMcode agent_curl_multi_remove_handle(CURLM *multi, CURL *handle);
CURLMcode agent_curl_multi_perform(CURLM *multi, int *running);
CURLMsg *agent_curl_multi_info_read(CURLM *multi, int *left);
CURLMcode agent_curl_multi_poll(CURLM *multi, struct curl_waitfd *extra, unsigned int count, int timeout_ms, int *ready);
CURLMcode agent_curl_multi_wakeup(CURLM *multi);

// Typed forms of libcurl's variadic calls, which Swift cannot import.
CURLcode agent_curl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode agent_curl_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value);
CURLcode agent_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode agent_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode agent_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode agent_curl_easy_setopt_callback(CURL *handle, CURLoption option, agent_curl_data_callback value);
CURLcode agent_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode agent_curl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value);
CURLcode agent_curl_easy_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode agent_curl_easy_getinfo_string(CURL *handle, CURLINFO info, char **value);
CURLcode agent_curl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);
CURLMcode agent_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);
#endif
