/* audit - document trigger: every insert, update and delete in collection
 * "todos" writes a document to collection "audit":
 *   {"collection","op","doc_id","seq","job_id","attempt","at"}
 * The audit document's id is "todos-<seq>" so a retried job (at least once)
 * does not write a second copy: the duplicate insert is treated as done. */
#include <basalt/function.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{
    if (ev->kind != BASALT_EVENT_DOCUMENT)
        return BASALT_OK;
    const basalt_document_event *d = ev->document;
    char doc[1024];
    char id_esc[300];
    size_t j = 0;
    for (size_t i = 0; d->doc_id[i] && j + 2 < sizeof id_esc; i++) {
        char c = d->doc_id[i];
        if (c == '"' || c == '\\')
            id_esc[j++] = '\\';
        id_esc[j++] = (unsigned char)c < 0x20 ? ' ' : c;
    }
    id_esc[j] = '\0';
    snprintf(doc, sizeof doc,
             "{\"id\":\"%s-%lld\",\"collection\":\"%s\",\"op\":\"%s\",\"doc_id\":\"%s\",\"seq\":%lld,"
             "\"job_id\":\"%s\",\"attempt\":%u,\"committed_ms\":%lld}",
             d->collection, (long long)d->seq, d->collection, d->op, id_esc, (long long)d->seq, ctx->job_id,
             ctx->attempt, (long long)d->committed_ms);
    int rc = ctx->host->doc_insert(ctx, "audit", doc, NULL);
    if (rc == BASALT_EEXISTS)
        return BASALT_OK; /* already written by an earlier attempt */
    if (rc != BASALT_OK) {
        ctx->host->error(res, 500, "AuditWriteFailed", "could not write the audit document");
        return BASALT_ERROR;
    }
    return BASALT_OK;
}

static const basalt_trigger triggers[] = {
    BASALT_ON_DOCUMENT("todos", BASALT_INSERT | BASALT_UPDATE | BASALT_REMOVE, NULL),
};

BASALT_FUNCTION(.name = "audit", .description = "audit trail of todos", .triggers = triggers,
                .ntriggers = BASALT_COUNT(triggers), .handle = handle);
