#include "agent/transport_stack.h"

#include "core/log.h"
#include "plugin_host/guarded_call.h"
#include "plugin_host/registry.h"

namespace om {

std::vector<std::shared_ptr<PluginLibrary>> load_transport_stack(PluginRegistry& registry, std::string_view spec)
{
    std::vector<std::shared_ptr<PluginLibrary>> layers;
    while (true) {
        size_t colon = spec.find(':');
        std::string_view name = spec.substr(0, colon);
        if (name.empty()) fail(OM_ERR_INVALID_ARGUMENT, "transport \"" + std::string(spec) + "\": empty plugin name");
        layers.push_back(registry.load(name, OM_PLUGIN_KIND_TRANSPORT));
        if (colon == std::string_view::npos) break;
        spec = spec.substr(colon + 1);
    }
    for (size_t i = 0; i < layers.size(); ++i) {
        bool decorator = layers[i]->flags() & OM_PLUGIN_FLAG_DECORATOR;
        bool last = i + 1 == layers.size();
        if (decorator && last)
            fail(OM_ERR_INVALID_ARGUMENT, "transport " + layers[i]->name() + " is a decorator: stack it on a transport, as in \"" +
                                              layers[i]->name() + ":udp\"");
        if (!decorator && !last)
            fail(OM_ERR_INVALID_ARGUMENT, "transport " + layers[i]->name() + " is not a decorator and cannot wrap " +
                                              layers[i + 1]->name());
    }
    return layers;
}

TransportStack::TransportStack(PluginOwner& owner, const std::vector<std::shared_ptr<PluginLibrary>>& libraries,
                               const PluginOptions& options, const std::string& agent_id, om_datagram_sink_fn sink,
                               void* sink_user_data)
    : owner_(owner)
{
    layers_.resize(libraries.size());
    for (size_t i = 0; i < libraries.size(); ++i) {
        layers_[i].library = libraries[i];
        layers_[i].ctx = make_host_ctx(owner, *libraries[i], options);
        links_.push_back(std::make_unique<Link>(Link{this, i == 0 ? 0 : i - 1}));
    }
    try {
        for (size_t i = layers_.size(); i-- > 0;) {  // bottom first: a decorator needs its inner
            PluginInstance& layer = layers_[i];
            om_transport_create_args args{};
            args.struct_size = sizeof args;
            args.base.struct_size = sizeof args.base;
            args.base.host = host_api();
            args.base.ctx = layer.ctx.get();
            args.base.agent_id = agent_id.empty() ? nullptr : agent_id.c_str();
            if (i == 0) {
                args.sink = sink;
                args.sink_user_data = sink_user_data;
            } else {
                args.sink = &TransportStack::inner_sink;
                args.sink_user_data = links_[i].get();
            }
            if (i + 1 < layers_.size()) args.inner = {&vtbl(i + 1), layers_[i + 1].instance};
            void* instance = nullptr;
            int32_t status = guarded_call(*layer.ctx, "create", [&] { return vtbl(i).create(&args, &instance); });
            check_plugin_status(*layer.ctx, "create", status);
            if (!instance) fail(OM_ERR_PLUGIN, "plugin " + layer.library->name() + ": create gave no instance");
            layer.instance = instance;
        }
    } catch (...) {
        destroy_layers();  // the ones already created
        throw;
    }
}

TransportStack::~TransportStack()
{
    destroy_layers();
}

void TransportStack::destroy_layers()
{
    for (size_t i = 0; i < layers_.size(); ++i) {  // outermost first: it may still use its inner
        PluginInstance& layer = layers_[i];
        if (!layer.instance) continue;
        const char* step = open_ ? "close" : "destroy";
        try {
            guarded_call(*layer.ctx, step, [&] {
                if (open_) vtbl(i).close(layer.instance);
                vtbl(i).destroy(layer.instance);
            });
        } catch (const Error& e) {
            log_message(OM_LOG_ERROR, e.what());
        }
        layer.instance = nullptr;
        layer.ctx->cancel_timers();
    }
    open_ = false;
}

void TransportStack::inner_sink(void* user_data, const om_datagram* datagram)
{
    // Runs inside the inner plugin's drain: nothing may unwind through the plugin's frames.
    auto* link = static_cast<Link*>(user_data);
    PluginInstance& outer = link->stack->layers_[link->outer];
    if (!datagram || (!datagram->data && datagram->len)) {
        link->stack->owner_.counters().add("transport.invalid_datagrams", 1);
        return;
    }
    try {
        link->stack->vtbl(link->outer).inner_received(outer.instance, datagram);
    }
    OM_RETHROW_FORCED_UNWIND
    catch (...) {
        log_message(OM_LOG_ERROR, "plugin " + outer.library->name() + ": inner_received threw");
        link->stack->owner_.counters().add("plugin." + outer.library->name() + ".exceptions", 1);
    }
}

void TransportStack::open(const std::string& bind_address)
{
    PluginInstance& top = layers_.front();
    int32_t status = guarded_call(*top.ctx, "open", [&] { return vtbl(0).open(top.instance, bind_address.c_str()); });
    check_plugin_status(*top.ctx, "open", status, inner_errors());
    open_ = true;
    for (const auto& layer : layers_) layer.ctx->check_settings_read();
}

size_t TransportStack::send(const om_datagram* batch, size_t count)
{
    PluginInstance& top = layers_.front();
    size_t sent = 0;
    int32_t status = guarded_call(*top.ctx, "send", [&] { return vtbl(0).send(top.instance, batch, count, &sent); });
    check_plugin_status(*top.ctx, "send", status, inner_errors());
    return sent;
}

int TransportStack::poll_fd()
{
    PluginInstance& top = layers_.front();
    return guarded_call(*top.ctx, "poll_fd", [&] { return vtbl(0).poll_fd(top.instance); });
}

size_t TransportStack::drain(size_t max)
{
    PluginInstance& top = layers_.front();
    size_t count = 0;
    int32_t status = guarded_call(*top.ctx, "drain", [&] { return vtbl(0).drain(top.instance, max, &count); });
    check_plugin_status(*top.ctx, "drain", status, inner_errors());
    return count;
}

om_address TransportStack::local_address()
{
    PluginInstance& top = layers_.front();
    om_address address{};
    int32_t status = guarded_call(*top.ctx, "local_address", [&] { return vtbl(0).local_address(top.instance, &address); });
    check_plugin_status(*top.ctx, "local_address", status);
    return address;
}

uint32_t TransportStack::mtu(uint32_t fallback)
{
    PluginInstance& top = layers_.front();
    if (!vtbl(0).mtu) return fallback;  // an ABI 1.0 transport
    uint32_t mtu = guarded_call(*top.ctx, "mtu", [&] { return vtbl(0).mtu(top.instance); });
    return mtu == 0 || mtu > fallback ? fallback : mtu;
}

std::string TransportStack::inner_errors()
{
    // A decorator that fails because its inner transport failed reports on its own context; the
    // inner's set_error text is the real reason.
    std::string text;
    for (size_t i = 1; i < layers_.size(); ++i) {
        std::string e = layers_[i].ctx->take_error();
        if (!e.empty()) text += (text.empty() ? "" : "; ") + layers_[i].library->name() + ": " + e;
    }
    return text;
}

PluginInstance* TransportStack::find(std::string_view plugin_name)
{
    for (auto& layer : layers_)
        if (layer.library->name() == plugin_name) return &layer;
    return nullptr;
}

std::string TransportStack::describe() const
{
    std::string text;
    for (const auto& layer : layers_) text += (text.empty() ? "" : ":") + layer.library->name();
    return text;
}

} // namespace om
