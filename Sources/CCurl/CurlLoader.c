// See include/CCurl.h. One table of function pointers, filled once under pthread_once: after it,
// the table is only read, so the wrappers need no lock (pthread_once orders the writes before any
// caller's reads).
#include "CCurl.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
    CURLMcode (*multi_wakeup)(CURLM *);
} fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *failure;  // NULL once loaded
static char message[768];

#define SYMBOL(name) { "curl_" #name, (void **)&fn.name }

static void load(void) {
    const struct { const char *name; void **slot; } symbols[] = {
        SYMBOL(global_init), SYMBOL(easy_init), SYMBOL(easy_cleanup), SYMBOL(easy_reset), SYMBOL(easy_strerror),
        SYMBOL(easy_setopt), SYMBOL(easy_getinfo), SYMBOL(slist_append), SYMBOL(slist_free_all), SYMBOL(multi_init),
        SYMBOL(multi_cleanup), SYMBOL(multi_setopt), SYMBOL(multi_add_handle), SYMBOL(multi_remove_handle),
        SYMBOL(multi_perform), SYMBOL(multi_info_read), SYMBOL(multi_poll), SYMBOL(multi_wakeup),
    };
    const char *library = getenv("AGENT_LIBCURL");
    if (library == NULL || library[0] == 0) library = "libcurl.so.4";
    // RTLD_LOCAL: libcurl's symbols (and its libraries') stay out of the process's global scope.
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *reason = dlerror();
        // glibc's reason starts with the file's name, which the message names already.
        size_t length = strlen(library);
        if (reason && strncmp(reason, library, length) == 0 && strncmp(reason + length, ": ", 2) == 0) reason += length + 2;
        snprintf(message, sizeof message, "%s cannot be loaded: %s (apt-get install libcurl4)", library,
                 reason ? reason : "unknown error");
        failure = message;
        return;
    }
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *address = dlsym(handle, symbols[i].name);
        if (address == NULL) {
            // curl_multi_poll and curl_multi_wakeup are the newest (7.66, 7.68).
            snprintf(message, sizeof message, "%s has no %s: libcurl 7.68 or later is needed (apt-get install libcurl4)",
                     library, symbols[i].name);
            failure = message;
            return;  // the handle stays open: nothing else uses it, and unloading libssl is unsafe
        }
        *symbols[i].slot = address;
    }
    CURLcode code = fn.global_init(CURL_GLOBAL_ALL);
    if (code != CURLE_OK) {
        snprintf(message, sizeof message, "%s cannot be initialised: %s", library, fn.easy_strerror(code));
        failure = message;
        return;
    }
    failure = NULL;
}

const char *agent_curl_load(void) {
    pthread_once(&once, load);
    return failure;
}

#define READY() (agent_curl_load() == NULL)

CURL *agent_curl_easy_init(void) { return READY() ? fn.easy_init() : NULL; }
void agent_curl_easy_cleanup(CURL *handle) { if (READY()) fn.easy_cleanup(handle); }
void agent_curl_easy_reset(CURL *handle) { if (READY()) fn.easy_reset(handle); }
const char *agent_curl_easy_strerror(CURLcode code) { return READY() ? fn.easy_strerror(code) : failure; }
struct curl_slist *agent_curl_slist_append(struct curl_slist *list, const char *string) {
    return READY() ? fn.slist_append(list, string) : NULL;
}
void agent_curl_slist_free_all(struct curl_slist *list) { if (READY()) fn.slist_free_all(list); }

CURLM *agent_curl_multi_init(void) { return READY() ? fn.multi_init() : NULL; }
CURLMcode agent_curl_multi_cleanup(CURLM *multi) { return READY() ? fn.multi_cleanup(multi) : CURLM_INTERNAL_ERROR; }
CURLMcode agent_curl_multi_add_handle(CURLM *multi, CURL *handle) {
    return READY() ? fn.multi_add_handle(multi, handle) : CURLM_INTERNAL_ERROR;
}
CURLMcode agent_curl_multi_remove_handle(CURLM *multi, CURL *handle) {
    return READY() ? fn.multi_remove_handle(multi, handle) : CURLM_INTERNAL_ERROR;
}
CURLMcode agent_curl_multi_perform(CURLM *multi, int *running) {
    return READY() ? fn.multi_perform(multi, running) : CURLM_INTERNAL_ERROR;
}
CURLMsg *agent_curl_multi_info_read(CURLM *multi, int *left) { return READY() ? fn.multi_info_read(multi, left) : NULL; }
CURLMcode agent_curl_multi_poll(CURLM *multi, struct curl_waitfd *extra, unsigned int count, int timeout_ms, int *ready) {
    return READY() ? fn.multi_poll(multi, extra, count, timeout_ms, ready) : CURLM_INTERNAL_ERROR;
}
CURLMcode agent_curl_multi_wakeup(CURLM *multi) { return READY() ? fn.multi_wakeup(multi) : CURLM_INTERNAL_ERROR; }

CURLcode agent_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return READY() ? fn.easy_setopt(handle, option, value) : CURLE_FAILED_INIT;
}
CURLcode agent_curl_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return READY() ? fn.easy_setopt(handle, option, value) : CURLE_FAILED_INIT;
}
CURLcode agent_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return READY() ? fn.easy_setopt(handle, option, value) : CURLE_FAILED_INIT;
}
CURLcode agent_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return READY() ? fn.easy_setopt(handle, option, value) : CURLE_FAILED_INIT;
}
CURLcode agent_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return READY() ? fn.easy_setopt(handle, option, value) : CURLE_FAILED_INIT;
}
CURLcode agent_curl_easy_setopt_callback(CURL *handle, CURLoption option, agent_curl_data_callback value) {
    return READY() ? fn.easy_setopt(handle, option, value) : CURLE_FAILED_INIT;
}
CURLcode agent_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return READY() ? fn.easy_getinfo(handle, info, value) : CURLE_FAILED_INIT;
}
CURLcode agent_curl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return READY() ? fn.easy_getinfo(handle, info, value) : CURLE_FAILED_INIT;
}
CURLcode agent_curl_easy_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) {
    return READY() ? fn.easy_getinfo(handle, info, value) : CURLE_FAILED_INIT;
}
CURLcode agent_curl_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return READY() ? fn.easy_getinfo(handle, info, value) : CURLE_FAILED_INIT;
}
CURLcode agent_curl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return READY() ? fn.easy_getinfo(handle, info, value) : CURLE_FAILED_INIT;
}
CURLMcode agent_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return READY() ? fn.multi_setopt(multi, option, value) : CURLM_INTERNAL_ERROR;
}
