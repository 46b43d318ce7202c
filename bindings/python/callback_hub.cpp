#include "callback_hub.hpp"

#include "enums.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <utility>

namespace orbitmesh::python {
namespace {

// The hub whose callback this thread is running (nullptr outside callbacks).
thread_local const CallbackHub* t_running_hub = nullptr;

class RunningMark {
public:
    explicit RunningMark(const CallbackHub* hub) : previous_(t_running_hub) { t_running_hub = hub; }
    ~RunningMark() { t_running_hub = previous_; }
    RunningMark(const RunningMark&) = delete;
    RunningMark& operator=(const RunningMark&) = delete;

private:
    const CallbackHub* previous_;
};

bool interpreter_alive()
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsInitialized() && !Py_IsFinalizing();
#else
    return Py_IsInitialized() && !_Py_IsFinalizing();
#endif
}

// Calls fn(args...) with the GIL held; a failure goes to sys.unraisablehook.
template <class... Args>
void invoke(const py::object& fn, Args&&... args)
{
    try {
        fn(std::forward<Args>(args)...);
    } catch (py::error_already_set& error) {
        error.discard_as_unraisable(fn);
    } catch (const std::exception& error) {
        PyErr_SetString(PyExc_RuntimeError, error.what());
        PyErr_WriteUnraisable(fn.ptr());
    }
}

} // namespace

void CallbackHub::replace(py::object& slot, py::object fn)
{
    if (!fn.is_none() && !PyCallable_Check(fn.ptr())) throw py::type_error("callback must be callable or None");
    if (fn.is_none()) fn = py::object();
    {
        std::lock_guard lock(mutex_);
        if (shut_down_) fn = py::object();
        std::swap(slot, fn);
    }
    // fn now holds the previous callable; it is released here, with the GIL, outside the lock.
}

void CallbackHub::set_callback(Slot slot, py::object fn) { replace(slots_.at(slot), std::move(fn)); }

namespace {

// How many positional arguments fn accepts: 4 (or *args) -> the form with channel and mode,
// 2 -> the seed's (peer_id, data). Decided once, when the callable is registered.
bool takes_channel_and_mode(const py::object& fn)
{
    py::module_ inspect = py::module_::import("inspect");
    py::object signature;
    try {
        signature = inspect.attr("signature")(fn);
    } catch (py::error_already_set& error) {
        if (!error.matches(PyExc_ValueError) && !error.matches(PyExc_TypeError)) throw;
        return false; // no signature to read (some builtins): the two-argument form
    }
    py::object parameter = inspect.attr("Parameter");
    size_t required = 0, optional = 0;
    bool varargs = false;
    for (py::handle p : signature.attr("parameters").attr("values")()) {
        py::object kind = p.attr("kind");
        const bool has_default = !p.attr("default").is(parameter.attr("empty"));
        if (kind.equal(parameter.attr("VAR_POSITIONAL"))) {
            varargs = true;
        } else if (kind.equal(parameter.attr("POSITIONAL_ONLY")) || kind.equal(parameter.attr("POSITIONAL_OR_KEYWORD"))) {
            (has_default ? optional : required) += 1;
        } else if (kind.equal(parameter.attr("KEYWORD_ONLY")) && !has_default) {
            throw py::type_error("on_message: the callback must not have required keyword-only parameters");
        }
    }
    if (required <= 4 && (required + optional >= 4 || varargs)) return true;
    if (required <= 2 && required + optional >= 2) return false;
    throw py::type_error("on_message: the callback must take (peer_id, data) or (peer_id, data, channel, mode)");
}

} // namespace

void CallbackHub::set_message_callback(py::object fn)
{
    bool with_channel = false;
    if (!fn.is_none()) {
        if (!PyCallable_Check(fn.ptr())) throw py::type_error("callback must be callable or None");
        with_channel = takes_channel_and_mode(fn);
    }
    if (fn.is_none()) fn = py::object();
    {
        std::lock_guard lock(mutex_);
        if (shut_down_) fn = py::object();
        std::swap(slots_[Message], fn);
        message_with_channel_ = with_channel;
    }
}

namespace {

py::object text_or_none(const char* text)
{
    return text ? py::object(py::str(text)) : py::object(py::none());
}

py::bytes payload(const om_event& event)
{
    return py::bytes(reinterpret_cast<const char*>(event.data), event.data ? event.len : 0);
}

} // namespace

void CallbackHub::deliver(const om_event& event)
{
    if (is_shut_down() || !interpreter_alive()) return;
    py::gil_scoped_acquire gil;
    std::array<py::object, SlotCount> fns;
    bool message_with_channel = false;
    {
        std::lock_guard lock(mutex_);
        if (shut_down_) return;
        fns = slots_;
        message_with_channel = message_with_channel_;
    }
    RunningMark mark(this);
    try {
        switch (event.type) {
        case OM_EVENT_DATAGRAM:
            if (fns[Datagram]) invoke(fns[Datagram], py::str(event.address ? event.address : ""), payload(event));
            break;
        case OM_EVENT_MESSAGE:
            if (fns[Message] && message_with_channel)
                invoke(fns[Message], py::str(event.peer_id ? event.peer_id : ""), payload(event),
                       static_cast<uint32_t>(event.channel), static_cast<Delivery::Value>(event.delivery_mode));
            else if (fns[Message])
                invoke(fns[Message], py::str(event.peer_id ? event.peer_id : ""), payload(event));
            break;
        case OM_EVENT_PEER_WRITABLE:
            if (fns[PeerWritable]) invoke(fns[PeerWritable], py::str(event.peer_id ? event.peer_id : ""));
            break;
        case OM_EVENT_PEER_CONNECTED:
            if (fns[PeerConnected]) invoke(fns[PeerConnected], py::str(event.peer_id ? event.peer_id : ""));
            break;
        case OM_EVENT_PEER_DISCONNECTED:
            if (fns[PeerDisconnected])
                invoke(fns[PeerDisconnected], py::str(event.peer_id ? event.peer_id : ""), text_or_none(event.message));
            break;
        case OM_EVENT_CONNECTED:
            if (fns[Connected]) invoke(fns[Connected]);
            break;
        case OM_EVENT_DISCONNECTED:
            if (fns[Disconnected]) invoke(fns[Disconnected], text_or_none(event.message));
            break;
        case OM_EVENT_RECONNECTING:
            if (fns[Reconnecting]) invoke(fns[Reconnecting], text_or_none(event.message));
            break;
        case OM_EVENT_PEER_STATE_CHANGED:
            if (fns[StateChanged])
                invoke(fns[StateChanged], py::str(event.peer_id ? event.peer_id : ""),
                       static_cast<PeerConnectionStatus::Value>(event.peer_status),
                       static_cast<Transport::Value>(event.transport), static_cast<Strategy::Value>(event.strategy));
            break;
        default:
            break;
        }
        if (fns[Event]) invoke(fns[Event], py::cast(orbitmesh::Event::from(event)));
    } catch (py::error_already_set& error) {
        // Building the arguments failed (out of memory, invalid UTF-8 text, ...).
        error.discard_as_unraisable("orbitmesh event delivery");
    }
}

namespace {

// (accepted, reason) from what a ConnectRequest callable returned: a truth value or a tuple.
bool read_decision(const py::object& result, std::string& reason)
{
    if (py::isinstance<py::tuple>(result)) {
        auto items = result.cast<py::tuple>();
        if (items.size() == 0) return false;
        if (items.size() > 1 && !items[1].is_none()) reason = py::str(items[1]).cast<std::string>();
        return py::bool_(items[0]).cast<bool>();
    }
    return py::bool_(result).cast<bool>();
}

} // namespace

bool CallbackHub::decide(const std::string& peer_id, om_nat_type remote_nat, std::string& reason)
{
    if (is_shut_down() || !interpreter_alive()) {
        reason = "the agent is closing";
        return false;
    }
    py::gil_scoped_acquire gil;
    py::object fn;
    {
        std::lock_guard lock(mutex_);
        if (shut_down_) {
            reason = "the agent is closing";
            return false;
        }
        fn = slots_[ConnectRequest];
    }
    if (!fn) return true; // the seed's default: accept every peer
    RunningMark mark(this);
    try {
        bool accepted = read_decision(fn(py::str(peer_id), static_cast<NatType::Value>(remote_nat)), reason);
        if (accepted) reason.clear();
        return accepted;
    } catch (py::error_already_set& error) {
        // "ValueError: text" without the traceback pybind11's what() may append.
        reason = py::str(error.type().attr("__name__")).cast<std::string>();
        const std::string text = py::str(error.value()).cast<std::string>();
        if (!text.empty()) reason += ": " + text;
        error.discard_as_unraisable(fn);
    } catch (const std::exception& error) {
        reason = error.what();
    }
    return false;
}

void CallbackHub::shutdown()
{
    std::array<py::object, SlotCount> released;
    {
        std::lock_guard lock(mutex_);
        shut_down_ = true;
        std::swap(released, slots_);
    }
}

bool CallbackHub::is_shut_down() const
{
    std::lock_guard lock(mutex_);
    return shut_down_;
}

bool CallbackHub::running_on_this_thread() const { return t_running_hub == this; }

} // namespace orbitmesh::python
