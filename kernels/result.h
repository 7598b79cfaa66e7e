#pragma once
// Result<T>: a value or a plain-language error message. Errors cross module boundaries as values
// (architecture.md); this is the one type for that, in the bottom layer so that every layer can use it.
// (std::expected is C++23; this is the small subset we need.)

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace lectern {

struct Error {
    std::string message;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(state_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(state_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(state_));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const std::string& error() const {
        assert(!ok());
        return std::get<1>(state_).message;
    }
    Error take_error() && { return std::get<1>(std::move(state_)); }

private:
    std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error.message)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const std::string& error() const { return error_; }
    Error take_error() && { return {std::move(error_)}; }

private:
    std::string error_;
    bool failed_ = false;
};

// Runs steps (callables returning Result<void>) in order until one fails, and keeps that failure: the
// steps after it do not run. take() hands the outcome so far over and starts afresh.
class Steps {
public:
    template <typename Step>
    void operator()(Step&& step) {
        if (status_) status_ = std::forward<Step>(step)();
    }
    Result<void> take() { return std::exchange(status_, Result<void>()); }

private:
    Result<void> status_;
};

} // namespace lectern
