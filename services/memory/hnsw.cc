// The HNSW graph of hnsw.h over hnswlib's HierarchicalNSW, with the cosine
// computed by memory_dot (vindex.c), which picks AVX2 at run time: hnswlib's
// own spaces choose their instructions when compiled, for the oldest CPU.
#include <cerrno>
#include <cstring>
// No hnswlib SIMD: its distances are not used (see above), and its search
// prefetches read one link past the end of a node's list, a heap over-read
// that AddressSanitizer rightly reports.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>
#include <new>

#include "hnsw.h"

extern "C" float memory_dot(const float *a, const float *b, size_t n);

namespace
{

// hnswlib keeps the best as the smallest distance: 1 - cosine.
float cosine_distance(const void *a, const void *b, const void *dim)
{
        return 1.0f - memory_dot(static_cast<const float *>(a), static_cast<const float *>(b),
                                 *static_cast<const size_t *>(dim));
}

class CosineSpace : public hnswlib::SpaceInterface<float>
{
      public:
        explicit CosineSpace(size_t dim) : dim_(dim)
        {
        }
        size_t get_data_size() override
        {
                return dim_ * sizeof(float);
        }
        hnswlib::DISTFUNC<float> get_dist_func() override
        {
                return cosine_distance;
        }
        void *get_dist_func_param() override
        {
                return &dim_;
        }

      private:
        size_t dim_;
};

} // namespace

struct memory_hnsw {
        explicit memory_hnsw(size_t dim) : space(dim)
        {
        }
        CosineSpace space;
        hnswlib::HierarchicalNSW<float> *graph = nullptr;
};

extern "C" struct memory_hnsw *memory_hnsw_new(size_t dim, size_t capacity,
                                               const struct memory_hnsw_params *p)
{
        memory_hnsw *h = new (std::nothrow) memory_hnsw(dim);

        if (!h)
                return nullptr;
        try {
                h->graph = new hnswlib::HierarchicalNSW<float>(&h->space, capacity ? capacity : 1,
                                                               p->m, p->ef_construction);
                h->graph->setEf(p->ef_search);
        } catch (...) {
                delete h;
                return nullptr;
        }
        return h;
}

extern "C" void memory_hnsw_free(struct memory_hnsw *h)
{
        if (!h)
                return;
        delete h->graph;
        delete h;
}

extern "C" int memory_hnsw_put(struct memory_hnsw *h, uint64_t label, const float *vec)
{
        auto *gr = h->graph;

        try {
                // room for one more, grown by doubling
                if (gr->cur_element_count >= gr->max_elements_)
                        gr->resizeIndex(gr->max_elements_ * 2);
                gr->addPoint(vec, label);
        } catch (...) {
                return -1;
        }
        return 0;
}

extern "C" void memory_hnsw_remove(struct memory_hnsw *h, uint64_t label)
{
        auto *gr = h->graph;
        auto at = gr->label_lookup_.find(label);

        if (at != gr->label_lookup_.end() && !gr->isMarkedDeleted(at->second))
                gr->markDeletedInternal(at->second);
}

extern "C" size_t memory_hnsw_search(const struct memory_hnsw *h, const float *q, size_t k,
                                     uint64_t *labels, float *scores)
{
        std::priority_queue<std::pair<float, hnswlib::labeltype>> found;
        size_t n;

        try {
                found = h->graph->searchKnn(q, k);
        } catch (...) {
                return 0;
        }
        // the queue pops the farthest first
        n = found.size();
        for (size_t i = n; i-- > 0;) {
                labels[i] = found.top().second;
                scores[i] = 1.0f - found.top().first;
                found.pop();
        }
        return n;
}

extern "C" int memory_hnsw_vector(const struct memory_hnsw *h, uint64_t label, float *out)
{
        auto *gr = h->graph;
        auto at = gr->label_lookup_.find(label);

        if (at == gr->label_lookup_.end())
                return -1;
        memcpy(out, gr->getDataByInternalId(at->second), gr->data_size_);
        return gr->isMarkedDeleted(at->second) ? 0 : 1;
}

extern "C" void memory_hnsw_counts(const struct memory_hnsw *h, size_t *labels, size_t *removed)
{
        *labels = h->graph->cur_element_count;
        *removed = h->graph->num_deleted_;
}

extern "C" int memory_hnsw_save(const struct memory_hnsw *h, const char *path)
{
        try {
                h->graph->saveIndex(path);
        } catch (...) {
                errno = EIO;
                return -1;
        }
        return 0;
}

extern "C" struct memory_hnsw *memory_hnsw_load(const char *path, size_t dim,
                                                const struct memory_hnsw_params *p)
{
        memory_hnsw *h = new (std::nothrow) memory_hnsw(dim);

        if (!h)
                return nullptr;
        try {
                // hnswlib 0.6.2's loading constructor leaves the tombstone
                // count uninitialised before adding the file's to it
                h->graph = new hnswlib::HierarchicalNSW<float>(&h->space);
                h->graph->num_deleted_ = 0;
                h->graph->loadIndex(path, &h->space);
                if (h->graph->data_size_ != dim * sizeof(float))
                        throw std::runtime_error("dimensions differ");
                h->graph->setEf(p->ef_search);
        } catch (...) {
                delete h->graph;
                delete h;
                return nullptr;
        }
        return h;
}
