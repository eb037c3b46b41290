package nl

// Alignment and header sizes from <linux/netlink.h> and <linux/genetlink.h>.
const (
	// AlignTo is the alignment of netlink messages in a buffer.
	//
	//	#define NLMSG_ALIGNTO	4U
	AlignTo = 4

	// HeaderLen is the size of struct nlmsghdr, already aligned.
	//
	//	#define NLMSG_HDRLEN	 ((int) NLMSG_ALIGN(sizeof(struct nlmsghdr)))
	HeaderLen = 16

	// AttrAlignTo is the alignment of attributes within a message.
	//
	//	#define NLA_ALIGNTO		4
	AttrAlignTo = 4

	// AttrHeaderLen is the size of struct nlattr, already aligned.
	//
	//	#define NLA_HDRLEN		((int) NLA_ALIGN(sizeof(struct nlattr)))
	AttrHeaderLen = 4

	// GenlHeaderLen is the size of struct genlmsghdr, already aligned.
	//
	//	#define GENL_HDRLEN	NLMSG_ALIGN(sizeof(struct genlmsghdr))
	GenlHeaderLen = 4

	// maxAttrPayload is the largest payload whose nla_len fits in 16 bits.
	maxAttrPayload = 0xffff - AttrHeaderLen
)

// Flag bits carried in nla_type, and the mask that removes them.
const (
	// AttrNested marks an attribute whose payload is itself attributes.
	// Open vSwitch does not set it on its nested attributes.
	//
	//	#define NLA_F_NESTED		(1 << 15)
	AttrNested = 0x8000

	// AttrNetByteOrder marks an attribute whose payload is in network
	// byte order.
	//
	//	#define NLA_F_NET_BYTEORDER	(1 << 14)
	AttrNetByteOrder = 0x4000

	// AttrTypeMask extracts the attribute type from nla_type.
	//
	//	#define NLA_TYPE_MASK		~(NLA_F_NESTED | NLA_F_NET_BYTEORDER)
	AttrTypeMask = 0x3fff
)

// Reserved control message types (nlmsg_type).
const (
	// MsgNoop is a message to be ignored.
	//
	//	#define NLMSG_NOOP		0x1	/* Nothing.		*/
	MsgNoop = 0x1

	// MsgError carries a struct nlmsgerr: an error or, with error 0, an
	// acknowledgement. See ParseError.
	//
	//	#define NLMSG_ERROR		0x2	/* Error		*/
	MsgError = 0x2

	// MsgDone ends a multipart (dump) reply.
	//
	//	#define NLMSG_DONE		0x3	/* End of dump	*/
	MsgDone = 0x3

	// MsgOverrun reports lost data.
	//
	//	#define NLMSG_OVERRUN		0x4	/* Data lost		*/
	MsgOverrun = 0x4

	// MsgMinType is the first message type not reserved for control.
	//
	//	#define NLMSG_MIN_TYPE		0x10	/* < 0x10: reserved control messages */
	MsgMinType = 0x10
)

// Message flags (nlmsg_flags). The modifier bits from 0x100 up mean
// different things for GET, NEW and ACK messages.
const (
	// FlagRequest marks a request.
	//
	//	#define NLM_F_REQUEST		0x01	/* It is request message. 	*/
	FlagRequest = 0x01

	// FlagMulti marks part of a multipart reply, ended by MsgDone.
	//
	//	#define NLM_F_MULTI		0x02	/* Multipart message, terminated by NLMSG_DONE */
	FlagMulti = 0x02

	// FlagAck asks for an acknowledgement (an NLMSG_ERROR with error 0).
	//
	//	#define NLM_F_ACK		0x04	/* Reply with ack, with zero or error code */
	FlagAck = 0x04

	// FlagEcho asks for the resulting notifications to be echoed.
	//
	//	#define NLM_F_ECHO		0x08	/* Receive resulting notifications */
	FlagEcho = 0x08

	// FlagDumpIntr reports a dump that was inconsistent because the
	// underlying table changed.
	//
	//	#define NLM_F_DUMP_INTR		0x10	/* Dump was inconsistent due to sequence change */
	FlagDumpIntr = 0x10

	// FlagDumpFiltered reports a dump that was filtered as requested.
	//
	//	#define NLM_F_DUMP_FILTERED	0x20	/* Dump was filtered as requested */
	FlagDumpFiltered = 0x20

	// FlagRoot is a GET modifier: return the whole tree.
	//
	//	#define NLM_F_ROOT	0x100	/* specify tree	root	*/
	FlagRoot = 0x100

	// FlagMatch is a GET modifier: return all matching objects.
	//
	//	#define NLM_F_MATCH	0x200	/* return all matching	*/
	FlagMatch = 0x200

	// FlagAtomic is a GET modifier: atomic snapshot.
	//
	//	#define NLM_F_ATOMIC	0x400	/* atomic GET		*/
	FlagAtomic = 0x400

	// FlagDump asks for a dump of all objects.
	//
	//	#define NLM_F_DUMP	(NLM_F_ROOT|NLM_F_MATCH)
	FlagDump = FlagRoot | FlagMatch

	// FlagReplace is a NEW modifier: override an existing object.
	//
	//	#define NLM_F_REPLACE	0x100	/* Override existing		*/
	FlagReplace = 0x100

	// FlagExcl is a NEW modifier: fail if the object exists.
	//
	//	#define NLM_F_EXCL	0x200	/* Do not touch, if it exists	*/
	FlagExcl = 0x200

	// FlagCreate is a NEW modifier: create the object if it does not exist.
	//
	//	#define NLM_F_CREATE	0x400	/* Create, if it does not exist	*/
	FlagCreate = 0x400

	// FlagAppend is a NEW modifier: add to the end of the list.
	//
	//	#define NLM_F_APPEND	0x800	/* Add to end of list		*/
	FlagAppend = 0x800

	// FlagCapped is an ACK flag: the request payload was left out of the
	// NLMSG_ERROR message, only its header is included.
	//
	//	#define NLM_F_CAPPED	0x100	/* request was capped */
	FlagCapped = 0x100

	// FlagAckTLVs is an ACK flag: extended ACK attributes follow.
	//
	//	#define NLM_F_ACK_TLVS	0x200	/* extended ACK TVLs were included */
	FlagAckTLVs = 0x200
)

// Extended ACK attribute types, found after the struct nlmsgerr of an
// NLMSG_ERROR message carrying FlagAckTLVs (enum nlmsgerr_attrs).
const (
	ExtAckUnused   = 0 // NLMSGERR_ATTR_UNUSED
	ExtAckMsg      = 1 // NLMSGERR_ATTR_MSG: NUL-terminated error message
	ExtAckOffset   = 2 // NLMSGERR_ATTR_OFFS: u32 offset of the invalid attribute in the request
	ExtAckCookie   = 3 // NLMSGERR_ATTR_COOKIE: arbitrary subsystem-specific cookie
	ExtAckPolicy   = 4 // NLMSGERR_ATTR_POLICY: policy for a rejected attribute
	ExtAckMissType = 5 // NLMSGERR_ATTR_MISS_TYPE: type of a missing required attribute
	ExtAckMissNest = 6 // NLMSGERR_ATTR_MISS_NEST: offset of the nest missing an attribute
)

// Generic netlink family identifiers.
const (
	// GenlNameSize is the size of a family name, including its NUL.
	//
	//	#define GENL_NAMSIZ	16	/* length of family name */
	GenlNameSize = 16

	// GenlMinID is the smallest generic netlink family id.
	//
	//	#define GENL_MIN_ID	NLMSG_MIN_TYPE
	GenlMinID = MsgMinType

	// GenlMaxID is the largest generic netlink family id.
	//
	//	#define GENL_MAX_ID	1023
	GenlMaxID = 1023

	// GenlIDCtrl is the fixed family id of the generic netlink
	// controller ("nlctrl"), which resolves family names to ids.
	//
	//	#define GENL_ID_CTRL		NLMSG_MIN_TYPE
	GenlIDCtrl = MsgMinType
)

// Generic netlink controller commands (GenlHeader.Cmd for GenlIDCtrl).
const (
	CtrlCmdUnspec      = 0  // CTRL_CMD_UNSPEC
	CtrlCmdNewFamily   = 1  // CTRL_CMD_NEWFAMILY
	CtrlCmdDelFamily   = 2  // CTRL_CMD_DELFAMILY
	CtrlCmdGetFamily   = 3  // CTRL_CMD_GETFAMILY: look up a family by CtrlAttrFamilyName or CtrlAttrFamilyID
	CtrlCmdNewOps      = 4  // CTRL_CMD_NEWOPS
	CtrlCmdDelOps      = 5  // CTRL_CMD_DELOPS
	CtrlCmdGetOps      = 6  // CTRL_CMD_GETOPS
	CtrlCmdNewMcastGrp = 7  // CTRL_CMD_NEWMCAST_GRP
	CtrlCmdDelMcastGrp = 8  // CTRL_CMD_DELMCAST_GRP
	CtrlCmdGetMcastGrp = 9  // CTRL_CMD_GETMCAST_GRP (unused)
	CtrlCmdGetPolicy   = 10 // CTRL_CMD_GETPOLICY
)

// Generic netlink controller attributes.
const (
	CtrlAttrUnspec      = 0  // CTRL_ATTR_UNSPEC
	CtrlAttrFamilyID    = 1  // CTRL_ATTR_FAMILY_ID: u16 family id (the nlmsg_type of its messages)
	CtrlAttrFamilyName  = 2  // CTRL_ATTR_FAMILY_NAME: NUL-terminated name, at most GenlNameSize bytes
	CtrlAttrVersion     = 3  // CTRL_ATTR_VERSION: u32 family version
	CtrlAttrHdrSize     = 4  // CTRL_ATTR_HDRSIZE: u32 size of the family's user header
	CtrlAttrMaxAttr     = 5  // CTRL_ATTR_MAXATTR: u32 highest attribute type
	CtrlAttrOps         = 6  // CTRL_ATTR_OPS: nested array of nested CtrlAttrOp* attributes
	CtrlAttrMcastGroups = 7  // CTRL_ATTR_MCAST_GROUPS: nested array of nested CtrlAttrMcastGrp* attributes
	CtrlAttrPolicy      = 8  // CTRL_ATTR_POLICY
	CtrlAttrOpPolicy    = 9  // CTRL_ATTR_OP_POLICY
	CtrlAttrOp          = 10 // CTRL_ATTR_OP

	CtrlAttrOpUnspec = 0 // CTRL_ATTR_OP_UNSPEC
	CtrlAttrOpID     = 1 // CTRL_ATTR_OP_ID: u32 command
	CtrlAttrOpFlags  = 2 // CTRL_ATTR_OP_FLAGS: u32 GENL_* permission flags

	CtrlAttrMcastGrpUnspec = 0 // CTRL_ATTR_MCAST_GRP_UNSPEC
	CtrlAttrMcastGrpName   = 1 // CTRL_ATTR_MCAST_GRP_NAME: NUL-terminated group name
	CtrlAttrMcastGrpID     = 2 // CTRL_ATTR_MCAST_GRP_ID: u32 group id
)
