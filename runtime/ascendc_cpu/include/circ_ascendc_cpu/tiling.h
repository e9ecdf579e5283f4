// circ's AscendC CPU layer — the tiling macros of op projects.
//
// Host side (op_host/*_tiling.h) a tiling struct is declared with
//     BEGIN_TILING_DATA_DEF(AddCustomTilingData)
//       TILING_DATA_FIELD_DEF(uint32_t, totalLength);
//     END_TILING_DATA_DEF;
//     REGISTER_TILING_DATA_CLASS(AddCustom, AddCustomTilingData)
// which here is a plain struct (fields in declaration order, natural alignment) with
// set_<field> / get_<field>, GetDataSize and SaveToBuffer. Kernel side GET_TILING_DATA(var,
// tiling) copies the registered struct out of GM; REGISTER_TILING_DEFAULT(S) (in the kernel
// body) or GET_TILING_DATA_WITH_STRUCT(S, var, tiling) name it explicitly.
#pragma once

#include "sync.h"

// Kernel side, CANN's build emits the op's tiling struct at global scope; here optiling is an
// inline namespace, so a host tiling header's `IsFiniteTilingData` is visible unqualified too.
inline namespace optiling {
struct CircTilingAnchor {};  // names the namespace where REGISTER_TILING_DATA_CLASS declares
}  // namespace optiling

namespace AscendC {
namespace cpu {
template <class Anchor> struct TilingTag {};
using DefaultTilingTag = TilingTag<::optiling::CircTilingAnchor>;
struct NoTilingRegistered {};

template <typename S>
inline void SaveTiling(const S& s, void* buf, size_t capacity) {
    if (sizeof(S) > capacity) {
        std::fprintf(stderr, "ascendc-cpu: error: SaveToBuffer: the tiling struct has %zu bytes, the buffer %zu\n",
                     sizeof(S), capacity);
        std::exit(1);
    }
    std::memcpy(buf, &s, sizeof(S));
}
}  // namespace cpu
}  // namespace AscendC

// No struct registered: found last by overload resolution.
::AscendC::cpu::NoTilingRegistered CircDefaultTilingOf(...);

#define BEGIN_TILING_DATA_DEF(class_name)                                                      \
    struct class_name {                                                                        \
        size_t GetDataSize() const { return sizeof(*this); }                                   \
        void SaveToBuffer(void* buf, size_t capacity) const {                                  \
            ::AscendC::cpu::SaveTiling(*this, buf, capacity);                                  \
        }
#define TILING_DATA_FIELD_DEF(data_type, field_name)                                           \
    data_type field_name = data_type();                                                        \
    void set_##field_name(data_type v) { field_name = v; }                                     \
    data_type get_##field_name() const { return field_name; }
#define TILING_DATA_FIELD_DEF_ARR(arr_type, arr_size, field_name)                              \
    arr_type field_name[arr_size] = {};                                                        \
    void set_##field_name(const arr_type* v) { std::memcpy(field_name, v, sizeof(field_name)); } \
    const arr_type* get_##field_name() const { return field_name; }
#define TILING_DATA_FIELD_DEF_STRUCT(struct_type, field_name) struct_type field_name = struct_type();
#define END_TILING_DATA_DEF }

// Declares which struct GET_TILING_DATA reads (a declaration only: found by argument-dependent
// lookup through the tag, in whatever namespace the registration sits).
#define REGISTER_TILING_DATA_CLASS(op_type, class_name) \
    class_name CircDefaultTilingOf(::AscendC::cpu::DefaultTilingTag);
// In a kernel body: a block-scope declaration that takes precedence over any registration.
#define REGISTER_TILING_DEFAULT(tiling_struct) tiling_struct CircDefaultTilingOf(::AscendC::cpu::DefaultTilingTag)
#define REGISTER_TILING_FOR_TILINGKEY(key_expr, tiling_struct)

#define GET_TILING_DATA(tiling_data, tiling_arg)                                                               \
    using CircTilingOf_##tiling_data = decltype(CircDefaultTilingOf(::AscendC::cpu::DefaultTilingTag{}));       \
    static_assert(!std::is_same<CircTilingOf_##tiling_data, ::AscendC::cpu::NoTilingRegistered>::value,        \
                  "GET_TILING_DATA: no tiling struct is registered (REGISTER_TILING_DATA_CLASS on the host "     \
                  "header, REGISTER_TILING_DEFAULT in the kernel, or GET_TILING_DATA_WITH_STRUCT)");             \
    GET_TILING_DATA_WITH_STRUCT(CircTilingOf_##tiling_data, tiling_data, tiling_arg)

// One member of the tiling struct, copied out of GM.
#define GET_TILING_DATA_MEMBER(struct_name, member, var, tiling_arg)                                           \
    decltype(struct_name::member) var;                                                                         \
    ::AscendC::cpu::CopyTilingMember(&var, (tiling_arg), offsetof(struct_name, member), sizeof(var), #member,  \
                                     ::AscendC::cpu::Loc())
